"""The sync's quality JSON cache: one entry per distinct quality model, never a wrong one."""

from __future__ import annotations

import orjson
from comradarr_arr import QualityModel
from comradarr_sync.engine import _quality_json

BASE = {
    "quality": {"id": 7, "name": "Bluray-1080p", "source": "bluray", "resolution": 1080},
    "revision": {"version": 1, "real": 0, "isRepack": False},
}


def _model(**changes: dict[str, object]) -> QualityModel:
    raw = {part: {**BASE[part], **changes.get(part, {})} for part in BASE}
    return QualityModel.model_validate(raw)


def test_equal_models_share_one_entry_and_every_field_tells_them_apart() -> None:
    first = _quality_json(_model())
    assert _quality_json(_model()) is first
    assert orjson.loads(orjson.dumps(first)) == _model().to_wire()
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
    seen = {orjson.dumps(first)}
    for model in variants:
        encoded = orjson.dumps(_quality_json(model))
        assert orjson.loads(encoded) == model.to_wire()
        seen.add(encoded)
    assert len(seen) == len(variants) + 1
