"""Reading users' text files: bad UTF-8 and malformed JSON name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.errors import DataError
from dem.textfile import iter_lines, parse_json, read_json, read_text


def test_bad_byte_names_file_line_byte_and_column(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"first\nsecond \xc3\xa9\nthird \xff here\n")  # line 2 is valid: e-acute
    with pytest.raises(DataError) as err:
        read_text(path)
    assert (err.value.path, err.value.line) == (str(path), 3)
    assert str(err.value) == f"{path}:3: not UTF-8: invalid start byte (byte 0xff, column 7)"


def test_truncated_sequence_on_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"ab\xe2\x82")  # the euro sign, cut short at the end of the file
    with pytest.raises(DataError, match=r"a\.txt:1: not UTF-8: .*\(byte 0xe2, column 3\)"):
        read_text(path)


def test_iter_lines_reads_lines_until_the_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n{"b": "\x80"}\n')
    seen = []
    with pytest.raises(DataError) as err:
        for lineno, line in iter_lines(path):
            seen.append((lineno, line))
    assert seen == [(1, '{"a": 1}\r\n'), (2, "\n")]
    assert err.value.line == 3 and "invalid start byte (byte 0x80, column 8)" in str(err.value)


def test_bom_is_dropped_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n")
    assert read_text(path, bom=True) == "a,b\n"
    assert read_text(path) == "\ufeffa,b\n"


def test_malformed_json_has_one_message_shape(tmp_path: Path) -> None:
    # json's own message ends in "at" here ("Invalid control character at"): no "at at column"
    with pytest.raises(DataError) as err:
        parse_json('{"a": "tab\there"}', "x.jsonl", line=7)
    assert str(err.value) == "x.jsonl:7: malformed JSON: Invalid control character (column 11)"
    path = tmp_path / "list.json"
    path.write_text('[\n  {"a": 1},\n  {"b" 2}\n]\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_json(path)
    assert str(err.value) == f"{path}:3: malformed JSON: Expecting ':' delimiter (column 8)"
