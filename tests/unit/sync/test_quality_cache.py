"""The sync's quality table: one entry per distinct quality model, never a wrong one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from comradarr_arr import QualityModel
from comradarr_sync.engine import _quality_index
from comradarr_sync.writer import QualityTable

BASE = {
    "quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
    "revision": {"version": 1, "real": 0, "isRepack": False},
}


def _model(**changes: dict[str, object]) -> QualityModel:
    raw = {part: {**BASE[part], **changes.get(part, {})} for part in BASE}
    return QualityModel.model_validate(raw)


def test_equal_models_share_one_entry_and_every_field_tells_them_apart() -> None:
    table = QualityTable()
    first = _quality_index(_model(), table)
    assert _quality_index(_model(), table) == first == 0
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
    indexes = [_quality_index(model, table) for model in variants]
    assert indexes == list(range(1, len(variants) + 1))
    # The entries a batch takes hold each model's own JSON at its index.
    sent = [orjson.loads(entry) for entry in table.entries()]
    assert sent == [m.to_wire() for m in [_model(), *variants]]
    assert orjson.loads(orjson.dumps(table.fragment(3))) == variants[2].to_wire()


# pydantic warns when it serializes the planted list where a str belongs.
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
def test_a_model_with_an_unhashable_value_is_known_by_its_json() -> None:
    table = QualityTable()
    odd: Any = _model()
    # A field value that cannot be hashed (a list where a string was expected).
    object.__setattr__(odd.quality, "name", ["Bluray", "1080p"])
    first = _quality_index(odd, table)
    assert _quality_index(odd, table) == first
    assert orjson.loads(table.entries()[first])["quality"]["name"] == ["Bluray", "1080p"]
    assert _quality_index(_model(), table) == first + 1


def test_an_empty_table_has_no_entries() -> None:
    assert QualityTable().entries() == ()
