"""Format sniffing and the `load_samples` dispatcher."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dem.data.records import Sample
from dem.data.sources._common import as_local_path, csv_text, read_records
from dem.data.sources.samples import SAMPLE_FORMATS, samples_of
from dem.data.sources.tables import builder_of, is_compressed, local_rows, table_rows
from dem.errors import DataError

FORMATS = (*SAMPLE_FORMATS, "mask", "deceptionbench")

# Ordered: the first format whose marker columns are all present wins.
_MARKERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("messages", ("messages",)),
    ("deceptionbench", ("inner_prompt", "outer_prompt")),
    ("prompt-completion", ("prompt", "completion")),
    ("dolly", ("instruction", "response")),
    ("alpaca", ("instruction", "output")),
    ("mask", ("proposition", "formatted_ground_truth")),
)


def format_of_columns(columns: Mapping[str, Any] | list[str]) -> str | None:
    """The format whose marker columns `columns` contains, or None."""
    have = set(columns)
    for name, markers in _MARKERS:
        if have.issuperset(markers):
            return name
    return None


def sniff_format(path: str | Path) -> str:
    """Guess the format of a local file or saved dataset folder from its columns (a CSV
    header, a JSON file's first record, a table's schema); `DataError` when it cannot."""
    local = as_local_path(Path(path))
    assert local is not None
    if local.is_dir() or builder_of(local) in ("parquet", "arrow") or is_compressed(local):
        return format_from_columns(local_rows(local).columns, local)
    if local.suffix.lower() == ".csv":
        columns = next(csv.reader(csv_text(local)), None)
        if not columns:
            raise DataError("empty CSV file (no header)", local)
    else:
        records = read_records(local)
        if not records:
            raise DataError("no records", local)
        line, first = records[0]
        if not isinstance(first, Mapping):
            raise DataError(f"record {line}: expected a JSON object", local, line)
        columns = list(first)
    return format_from_columns(columns, local)


def format_from_columns(columns: Any, where: str | Path) -> str:
    """The format of a table with these columns; `DataError` naming `where` when none fits."""
    fmt = format_of_columns(list(columns))
    if fmt is None:
        raise DataError(
            f"cannot tell the format from the columns; pass a format (one of {', '.join(FORMATS)})",
            where,
        )
    return fmt


def load_samples(
    path_or_id: str | Path,
    format: str | None = None,
    *,
    source: str | None = None,
    license: str = "unknown",
    split: str = "train",
    revision: str | None = None,
) -> list[Sample]:
    """Load training samples in any of `SAMPLE_FORMATS` from a file, a saved dataset folder or a
    hub id (pinned as ``owner/name@revision`` or with `revision`); `format` is sniffed from the
    columns when not given."""
    if format is not None and format not in SAMPLE_FORMATS:
        raise DataError(
            f"format {format!r} does not hold training samples "
            f"(one of {', '.join(SAMPLE_FORMATS)})",
            path_or_id,
        )
    rows = table_rows(path_or_id, split=split, revision=revision)
    fmt = format or format_from_columns(rows.columns, rows.where)
    if fmt not in SAMPLE_FORMATS:
        raise DataError(
            f"format {fmt!r} does not hold training samples (one of {', '.join(SAMPLE_FORMATS)})",
            rows.where,
        )
    return rows.convert(lambda r: samples_of(r, fmt, source=source, license=license))
