"""The incremental JSON array parser behind the unpaged list endpoints."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from comradarr_arr._stream import JSONArrayParser, JSONStreamError, iter_json_array

pytestmark = pytest.mark.unit


def _parse_in_chunks(raw: bytes, sizes: random.Random) -> list[Any]:
    parser = JSONArrayParser()
    out: list[Any] = []
    i = 0
    while i < len(raw):
        step = sizes.randint(1, 50)
        out.extend(parser.feed(raw[i : i + step]))
        i += step
    out.extend(parser.feed(b"", final=True))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_any_chunking_yields_the_same_items(seed: int) -> None:
    rng = random.Random(seed)
    items: list[Any] = [
        {"id": i, "title": 'é "quoted" ]}, ✓' * rng.randint(0, 2), "n": [1, {"a": None}]}
        for i in range(rng.randint(0, 15))
    ]
    if seed % 3 == 0:
        items += [12345, 1.5, "text", True, None, []]
    raw = json.dumps(items, ensure_ascii=False, indent=rng.choice([None, 2])).encode()
    assert _parse_in_chunks(raw, rng) == items


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a": 1}', "expected a JSON array"),
        (b"[1, 2", "between array items"),
        (b'[{"a": }]', "malformed"),
        (b"[1 2]", "between array items"),
        (b"[1] x", "after the end"),
        (b"", "ended early"),
        (b"[", "ended early"),
    ],
)
def test_broken_bodies_raise(raw: bytes, message: str) -> None:
    parser = JSONArrayParser()
    with pytest.raises(JSONStreamError, match=message):
        list(parser.feed(raw))
        list(parser.feed(b"", final=True))


def test_only_the_unparsed_tail_is_kept() -> None:
    # Streaming means memory does not grow with the number of items already parsed.
    parser = JSONArrayParser()
    list(parser.feed(b"["))
    for i in range(2000):
        list(parser.feed(json.dumps({"id": i, "pad": "x" * 100}).encode() + b","))
        assert len(parser._buf) - parser._pos < 300
    assert list(parser.feed(b'{"id": -1}]', final=True)) == [{"id": -1}]


async def _chunks(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


@pytest.mark.parametrize("limit", [10, 1 << 20], ids=["streamed", "whole"])
async def test_iter_json_array_small_and_large_bodies(limit: int) -> None:
    items = [{"id": i, "title": f"t{i}"} for i in range(100)]
    raw = json.dumps(items).encode()
    got = [x async for x in iter_json_array(_chunks(raw, 7), whole_body_limit=limit)]
    assert got == items


@pytest.mark.parametrize("limit", [10, 1 << 20], ids=["streamed", "whole"])
@pytest.mark.parametrize("raw", [b'{"id": 1}', b'[{"id": 1}, {"id": ]', b"[1, 2"])
async def test_iter_json_array_rejects_broken_bodies(limit: int, raw: bytes) -> None:
    with pytest.raises(JSONStreamError):
        [x async for x in iter_json_array(_chunks(raw * 3, 4), whole_body_limit=limit)]
