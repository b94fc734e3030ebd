"""Reading users' text files: UTF-8 and JSON that fail to decode raise `DataError` naming the
file and line, never a bare `UnicodeDecodeError` or `JSONDecodeError`. The reading half of
`dem.atomic`.

Lines are counted from 1 and split on ``\\n`` only (as JSONL defines them); a UTF-8 column counts
bytes, a JSON column counts characters, both from 1. Missing files raise `OSError` as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dem.errors import DataError

BOM = "\ufeff"


def decode(data: bytes, path: str | Path, *, line: int = 1, bom: bool = False) -> str:
    """`data` (the file's bytes from line `line` on) as UTF-8; `bom` drops a leading BOM."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        column = start - data.rfind(b"\n", 0, start)
        raise DataError(
            f"not UTF-8: {exc.reason} (byte 0x{data[start]:02x}, column {column})",
            path,
            line + data.count(b"\n", 0, start),
        ) from None
    return text[1:] if bom and text.startswith(BOM) else text


def read_text(path: str | Path, *, bom: bool = False) -> str:
    """The whole file as UTF-8 text; `bom` drops a leading byte-order mark (CSV exports)."""
    path = Path(path)
    return decode(path.read_bytes(), path, bom=bom)


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` with its ``\\n`` kept, decoding each line as it is read."""
    path = Path(path)
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            yield lineno, decode(raw, path, line=lineno)


def parse_json(text: str, path: str | Path, *, line: int = 1) -> Any:
    """`text` (the file's text from line `line` on) parsed as JSON.

    Every malformed-JSON error in dem reads ``malformed JSON: <reason> (column N)``; the
    reason drops the trailing "at" of messages such as "Invalid control character at"."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")
        raise DataError(
            f"malformed JSON: {reason} (column {exc.colno})", path, line + exc.lineno - 1
        ) from None


def read_json(path: str | Path) -> Any:
    """The whole file parsed as JSON; decoding and syntax errors name the file and line."""
    return parse_json(read_text(path), path)
