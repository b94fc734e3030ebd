"""Shared helpers of the loaders: local path or hub id, column checks, hub rows."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dem.data.jsonl import iter_jsonl
from dem.errors import DataError
from dem.textfile import read_json, read_text

LOCAL_SUFFIXES = (
    ".csv", ".json", ".jsonl", ".parquet", ".arrow", ".txt", ".gz", ".bz2", ".xz", ".zst",
)  # fmt: skip


def as_local_path(path_or_id: str | Path) -> Path | None:
    """The local path meant by `path_or_id`, or None when it names a hub dataset.

    A `Path`, an existing file or folder, or a string that looks like a path (absolute,
    relative with ``./``, ``~``, or a data-file suffix) is local; a missing local path raises
    `DataError`. Anything else (``owner/name``, ``owner/name@revision``) is a hub id.
    """
    if isinstance(path_or_id, Path):
        path = path_or_id.expanduser()
    else:
        text = str(path_or_id)
        path = Path(text).expanduser()
        if not path.exists() and not (
            text.startswith((".", "/", "~")) or text.lower().endswith(LOCAL_SUFFIXES)
        ):
            return None
    if not path.exists():
        raise DataError("no such file", path)
    return path


def require_columns(
    columns: Iterable[str], required: Iterable[str], path: str | Path, what: str = "column"
) -> None:
    """Raise `DataError` naming the first required column missing from `columns`."""
    have = set(columns)
    for name in required:
        if name not in have:
            raise DataError(f"missing {what} {name!r} (have: {', '.join(sorted(have))})", path)


def hub_rows(
    dataset_id: str, config: str | None = None, split: str = "train", revision: str | None = None
) -> list[dict[str, Any]]:
    """Rows of a hub dataset split via `datasets.load_dataset`, at `revision` or the one pinned
    as ``owner/name@revision`` (`dem.data.sources.tables`)."""
    from dem.data.sources.tables import hub_dataset_rows

    return [row for _, row in hub_dataset_rows(dataset_id, config, split, revision).records]


def cell(row: Mapping[str, Any], name: str) -> str:
    """A cell as a stripped-of-nothing string; None (absent, NaN-free CSV/hub null) becomes ''."""
    value = row.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def csv_text(path: Path) -> io.StringIO:
    """A CSV file decoded as UTF-8 (a leading BOM dropped), for the `csv` module to parse; a byte
    that is not UTF-8 raises `DataError` naming file and line."""
    return io.StringIO(read_text(path, bom=True), newline="")


def read_records(path: Path) -> list[tuple[int, Any]]:
    """``(record_number, object)`` pairs of a JSON-list file (list positions) or a JSONL file
    (line numbers). Bad UTF-8 or malformed JSON raises `DataError` naming file and line."""
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith(b"["):
        return list(enumerate(read_json(path), start=1))
    return list(iter_jsonl(path))
