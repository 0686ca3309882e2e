"""The sync's quality table: one ref per distinct quality model, never a wrong one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from comradarr_arr import QualityModel
from comradarr_sync.engine import _encoded, _quality_ref
from comradarr_sync.writer import QualityTable, encode_csv

BASE = {
    "quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
    "revision": {"version": 1, "real": 0, "isRepack": False},
}


def _model(**changes: dict[str, object]) -> QualityModel:
    raw = {part: {**BASE[part], **changes.get(part, {})} for part in BASE}
    return QualityModel.model_validate(raw)


def test_equal_models_share_one_ref_and_every_field_tells_them_apart() -> None:
    table = QualityTable()
    first = _quality_ref(_model(), table)
    assert _quality_ref(_model(), table) is first
    variants = [
        _model(quality={"id": 8}),
        _model(quality={"name": "Bluray-1080p Remux"}),
        _model(quality={"source": "web"}),
        _model(quality={"resolution": 720}),
        _model(quality={"modifier": "remux"}),
        _model(revision={"version": 2}),
        _model(revision={"real": 1}),
        _model(revision={"isRepack": True}),
    ]
    refs = [_quality_ref(model, table) for model in variants]
    assert len({id(ref) for ref in [first, *refs]}) == len(variants) + 1
    # Each ref holds its model's own JSON; none has an id until a writer stores them.
    unresolved = table.unresolved()
    assert unresolved == [first, *refs]
    assert [orjson.loads(ref.json) for ref in unresolved] == [
        m.to_wire() for m in [_model(), *variants]
    ]
    assert orjson.loads(orjson.dumps(refs[2].fragment)) == variants[2].to_wire()
    first.id = 1
    assert table.unresolved() == refs


# pydantic warns when it serializes the planted list where a str belongs.
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
def test_a_model_with_an_unhashable_value_is_known_by_its_json() -> None:
    table = QualityTable()
    odd: Any = _model()
    # A field value that cannot be hashed (a list where a string was expected).
    object.__setattr__(odd.quality, "name", ["Bluray", "1080p"])
    first = _quality_ref(odd, table)
    assert _quality_ref(odd, table) is first
    assert orjson.loads(first.json)["quality"]["name"] == ["Bluray", "1080p"]
    assert _quality_ref(_model(), table) is not first


def test_an_empty_table_has_nothing_to_store() -> None:
    assert QualityTable().unresolved() == []


def test_a_series_is_encoded_at_once_unless_a_quality_has_no_id_yet() -> None:
    table = QualityTable()
    ref = _quality_ref(_model(), table)
    rows = [(1, ref), (2, None)]

    def encode(rows: Any) -> bytes:
        return encode_csv(rows, prefix=b"9,")

    # Kept as rows: the writer stores the quality, then encodes them.
    assert _encoded(encode, rows) is rows
    ref.id = 5
    assert _encoded(encode, rows) == b"9,1,5\n9,2,null\n"
    # A value that is not a quality is an error, not a reason to wait.
    with pytest.raises(orjson.JSONEncodeError):
        _encoded(encode, [(1, object())])
