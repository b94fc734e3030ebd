"""Format sniffing and the `load_samples` dispatcher."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dem.data.records import Sample
from dem.data.sources._common import as_local_path, csv_text, read_records
from dem.data.sources.samples import SAMPLE_FORMATS, load_format
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
    """Guess the format of a local file from its first record; `DataError` when it cannot."""
    local = as_local_path(Path(path))
    assert local is not None
    if local.is_dir():
        raise DataError("expected a file, got a folder", local)
    if local.suffix.lower() == ".csv":
        header = next(csv.reader(csv_text(local)), None)
        if not header:
            raise DataError("empty CSV file (no header)", local)
        fmt = format_of_columns(header)
    else:
        records = read_records(local)
        if not records:
            raise DataError("no records", local)
        line, first = records[0]
        if not isinstance(first, Mapping):
            raise DataError(f"record {line}: expected a JSON object", local, line)
        fmt = format_of_columns(list(first))
    if fmt is None:
        raise DataError(
            f"cannot tell the format from the columns; pass a format (one of {', '.join(FORMATS)})",
            local,
        )
    return fmt


def load_samples(
    path_or_id: str | Path,
    format: str | None = None,
    *,
    source: str | None = None,
    license: str = "unknown",
    split: str = "train",
) -> list[Sample]:
    """Load training samples in any of `SAMPLE_FORMATS`; `format` is sniffed for local files
    and required for hub ids."""
    if format is None:
        local = as_local_path(path_or_id)
        if local is None:
            raise DataError(
                f"format needed for a hub dataset (one of {', '.join(SAMPLE_FORMATS)})", path_or_id
            )
        format = sniff_format(local)
    if format not in SAMPLE_FORMATS:
        raise DataError(
            f"format {format!r} does not hold training samples "
            f"(one of {', '.join(SAMPLE_FORMATS)})",
            path_or_id,
        )
    return load_format(path_or_id, format, source=source, license=license, split=split)
