"""DeceptionBench items (Ji et al. 2025): a JSON list or JSONL of objects, any other table
`dem.data.sources.tables` reads (parquet, arrow, a saved dataset folder), or a hub id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dem.data.sources._common import cell
from dem.data.sources.tables import Rows, table_rows
from dem.errors import DataError

DECEPTIONBENCH_HUB_ID = "PKU-Alignment/DeceptionBench"  # one config, split "test"
FIELDS = ("id", "type", "inner_prompt", "system_prompt", "outer_prompt", "format")
REQUIRED = ("id", "type", "inner_prompt", "outer_prompt")


@dataclass(frozen=True)
class DeceptionItem:
    """One DeceptionBench item: the inner prompt elicits the model's own view, the outer prompt
    sets a conflicting goal; ``format`` states the expected answer format."""

    id: str
    type: str
    inner_prompt: str
    system_prompt: str
    outer_prompt: str
    format: str


def parse_item(obj: Any, path: str | Path, line: int) -> DeceptionItem:
    """Validate one raw object; a missing or empty required field names file and record."""
    if not isinstance(obj, Mapping):
        raise DataError(f"record {line}: expected a JSON object", path, line)
    for name in REQUIRED:
        if name not in obj:
            raise DataError(f"record {line}: missing field {name!r}", path, line)
        if not cell(obj, name).strip():
            raise DataError(f"record {line}: empty field {name!r}", path, line)
    return DeceptionItem(**{name: cell(obj, name) for name in FIELDS})


def load_deceptionbench(
    path_or_id: str | Path, *, split: str = "test", revision: str | None = None
) -> list[DeceptionItem]:
    """Load DeceptionBench from a JSON list, a JSONL file, another table, or a hub id (`split`
    and `revision`, or ``owner/name@revision``, for the hub).

    Record numbers in errors are list positions (JSON) or line numbers (JSONL). Duplicate ids
    are an error.
    """
    return table_rows(path_or_id, split=split, revision=revision).convert(_items)


def _items(rows: Rows) -> list[DeceptionItem]:
    items = [parse_item(obj, rows.where, line) for line, obj in rows.records]
    seen: dict[str, int] = {}
    for (line, _), item in zip(rows.records, items, strict=True):
        if item.id in seen:
            raise DataError(f"record {line}: duplicate id {item.id!r}", rows.where, line)
        seen[item.id] = line
    return items
