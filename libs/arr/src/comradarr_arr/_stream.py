"""Incremental parsing of a top-level JSON array, item by item.

Sonarr's ``/series`` and ``/episode`` and Radarr's ``/movie`` are not paged: a big
library answers with one large array. Parsing it whole would hold every record (and
the whole body) in memory at once, so past a size limit we decode one item at a time
with the C ``raw_decode`` as bytes arrive, keeping only the unparsed tail in memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


class JSONStreamError(ValueError):
    """The body is not a JSON array (or ends early)."""


class JSONArrayParser:
    """Feed bytes in, get complete array items out."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._buf = ""
        self._pos = 0
        self._started = False
        self._done = False
        # A failed raw_decode at the tail is retried only once more data arrived.
        self._need_more = False

    def feed(self, data: bytes, *, final: bool = False) -> Iterator[Any]:
        """Add a chunk and yield every item completed by it."""
        text = self._decoder.decode(data, final=final)
        if text:
            self._buf = self._buf[self._pos :] + text
            self._pos = 0
        if text or final:
            self._need_more = False
        yield from self._drain(final=final)
        if final and not self._done:
            raise JSONStreamError("JSON array ended early")

    def _skip_ws(self) -> None:
        buf, pos, n = self._buf, self._pos, len(self._buf)
        while pos < n and buf[pos] in _WS:
            pos += 1
        self._pos = pos

    def _drain(self, *, final: bool) -> Iterator[Any]:
        if self._done or self._need_more:
            if self._done:
                self._skip_ws()
                if self._pos < len(self._buf):
                    raise JSONStreamError("data after the end of the JSON array")
            return
        buf = self._buf
        n = len(buf)
        while True:
            self._skip_ws()
            pos = self._pos
            if pos >= n:
                return
            if not self._started:
                if buf[pos] != "[":
                    raise JSONStreamError("expected a JSON array")
                self._started = True
                self._pos = pos + 1
                self._skip_ws()
                pos = self._pos
                if pos >= n:
                    return
                if buf[pos] == "]":
                    self._finish(pos)
                    return
            elif buf[pos] == ",":
                self._pos = pos + 1
                self._skip_ws()
                pos = self._pos
                if pos >= n:
                    return
            elif buf[pos] == "]":
                self._finish(pos)
                return
            try:
                item, end = _DECODER.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if final:
                    raise JSONStreamError(f"malformed JSON array: {exc.msg}") from exc
                # Most likely an item cut by the chunk boundary: wait for more bytes.
                self._need_more = True
                return
            self._pos = end
            self._skip_ws()
            if self._pos >= n or buf[self._pos] not in ",]":
                if final:
                    raise JSONStreamError("expected ',' or ']' between array items")
                # The item may continue in the next chunk (``1`` then ``.5``): wait.
                self._pos = pos
                self._need_more = True
                return
            yield item

    def _finish(self, pos: int) -> None:
        self._done = True
        self._pos = pos + 1
        self._skip_ws()
        if self._pos < len(self._buf):
            raise JSONStreamError("data after the end of the JSON array")


# Bodies up to this size are decoded in one go with orjson, several times faster than
# item-by-item decoding; larger ones (a whole library in one array) are streamed, so memory
# stays bounded by this size rather than by the library.
WHOLE_BODY_LIMIT = 1 << 20


async def iter_json_array(
    chunks: AsyncIterator[bytes], *, whole_body_limit: int = WHOLE_BODY_LIMIT
) -> AsyncIterator[Any]:
    """Yield the items of a JSON array arriving as byte chunks."""
    head: list[bytes] = []
    size = 0
    async for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > whole_body_limit:
            break
    else:
        try:
            data = orjson.loads(b"".join(head))
        except orjson.JSONDecodeError as exc:
            raise JSONStreamError(f"malformed JSON array: {exc}") from exc
        if not isinstance(data, list):
            raise JSONStreamError("expected a JSON array")
        # Popped as yielded, so items already handed out can be freed.
        data.reverse()
        while data:
            yield data.pop()
        return
    parser = JSONArrayParser()
    for item in parser.feed(b"".join(head)):
        yield item
    del head
    async for chunk in chunks:
        for item in parser.feed(chunk):
            yield item
    for item in parser.feed(b"", final=True):
        yield item
