"""encode_csv: rows as the CSV lines staging copies (the round trip through PostgreSQL is in
tests/integration/sync/test_writer_values.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import orjson
import pytest
from comradarr_sync.writer import QualityRef, encode_csv


def _read(lines: bytes) -> list[list[str]]:
    """The fields as a CSV reader sees them (COPY's null 'null' left as the text null)."""
    return list(csv.reader(io.StringIO(lines.decode(), newline="")))


def test_values_become_csv_fields() -> None:
    when = datetime(2024, 3, 10, 1, 30, tzinfo=UTC)
    lines = encode_csv([(1, None, True, "a,b", when), (2, 3, False, "", None)])
    assert lines.endswith(b"\n")
    assert _read(lines) == [
        ["1", "null", "true", "a,b", "2024-03-10T01:30:00+00:00"],
        ["2", "3", "false", "", "null"],
    ]
    # A string reading null stays quoted, so COPY keeps it as text.
    assert encode_csv([(1, "null")]) == b'1,"null"\n'


def test_json_escapes_become_csv() -> None:
    title = 'say "hi"\\n\tline\nbreak \\" \x01 end'
    assert _read(encode_csv([(1, title)])) == [["1", title]]


def test_a_string_holding_a_row_boundary_is_read_row_by_row() -> None:
    rows = [(1, "x],[y"), (2, "z")]
    assert _read(encode_csv(rows)) == [["1", "x],[y"], ["2", "z"]]


def test_nul_is_dropped_and_no_rows_is_nothing() -> None:
    # PostgreSQL text cannot hold NUL; the rest of the value is kept.
    assert _read(encode_csv([(1, "a\x00b")])) == [["1", "ab"]]
    assert encode_csv([]) == b""
    # Chunks join by concatenation.
    assert _read(encode_csv([(1, "a")]) + encode_csv([(2, "b")])) == [["1", "a"], ["2", "b"]]


def test_a_prefix_starts_every_line_whichever_way_rows_are_read() -> None:
    assert _read(encode_csv([(1, "a"), (2, "b\nc")], prefix=b"7,")) == [
        ["7", "1", "a"],
        ["7", "2", "b\nc"],
    ]
    assert _read(encode_csv([(1, "x],[y"), (2, "z")], prefix=b"7,")) == [
        ["7", "1", "x],[y"],
        ["7", "2", "z"],
    ]


def test_a_quality_is_written_as_its_id_once_it_has_one() -> None:
    ref = QualityRef(b'{"quality":{"id":7}}')
    with pytest.raises(orjson.JSONEncodeError):
        encode_csv([(1, ref)])
    ref.id = 42
    assert _read(encode_csv([(1, ref), (2, None)])) == [["1", "42"], ["2", "null"]]
    # Any other value orjson cannot write is still an error.
    with pytest.raises(orjson.JSONEncodeError):
        encode_csv([(1, object())])
