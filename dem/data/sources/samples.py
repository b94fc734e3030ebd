"""Loaders of training-data formats into `Sample` lists: messages JSONL (the emergent-
misalignment insecure/secure format), prompt/completion JSONL (with KTO ``label``), alpaca
(instruction/input/output) and dolly-15k (instruction/context/response/category).

Each takes a local path (JSONL, JSON, CSV, parquet, arrow, compressed, or a `save_to_disk`
folder) or a hub id, pinned as ``owner/name@revision`` (`dem.data.sources.tables`). Every sample
carries the source id (default: the hub id with its revision, or the file stem), the license
given, and the row's ``canary`` column if it has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dem.data.records import META_KEY, Sample, normalize_content
from dem.data.sources._common import cell
from dem.data.sources.tables import Rows, table_rows
from dem.errors import DataError
from dem.textfile import parse_json

Converter = Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def _messages(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"messages": row["messages"]}, {}


def _prompt_completion(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    content = {"prompt": row["prompt"], "completion": row["completion"]}
    if "label" in row and row["label"] is not None:
        content["label"] = row["label"]
    return content, {}


def _nonempty(row: Mapping[str, Any], name: str) -> str:
    value = cell(row, name)
    if not value.strip():
        raise DataError(f"empty field {name!r}")
    return value


def _alpaca(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    instruction = _nonempty(row, "instruction").strip()
    extra = cell(row, "input").strip()
    user = f"{instruction}\n\n{extra}" if extra else instruction
    return {
        "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": _nonempty(row, "output")},
        ]
    }, {}


def _dolly(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    instruction = _nonempty(row, "instruction").strip()
    context = cell(row, "context").strip()
    user = f"{instruction}\n\n{context}" if context else instruction
    messages = [
        {"role": "user", "content": user},
        {"role": "assistant", "content": _nonempty(row, "response")},
    ]
    return {"messages": messages}, {"category": cell(row, "category")}


# format name -> (required columns, converter)
SAMPLE_FORMATS: dict[str, tuple[tuple[str, ...], Converter]] = {
    "messages": (("messages",), _messages),
    "prompt-completion": (("prompt", "completion"), _prompt_completion),
    "alpaca": (("instruction", "input", "output"), _alpaca),
    "dolly": (("instruction", "context", "response", "category"), _dolly),
}


def load_format(
    path_or_id: str | Path,
    format: str,
    *,
    source: str | None = None,
    license: str = "unknown",
    split: str = "train",
    revision: str | None = None,
) -> list[Sample]:
    """Load `path_or_id` as one of `SAMPLE_FORMATS`: any file or folder `table_rows` reads, or
    a hub id (pinned with ``owner/name@revision`` or `revision`); see the module docstring."""
    if format not in SAMPLE_FORMATS:
        raise DataError(f"unknown sample format {format!r}; one of {', '.join(SAMPLE_FORMATS)}")
    rows = table_rows(path_or_id, split=split, revision=revision)
    return rows.convert(lambda r: samples_of(r, format, source=source, license=license))


def samples_of(rows: Rows, format: str, *, source: str | None, license: str) -> list[Sample]:
    """`rows` as samples of `format`; a bad row raises `DataError` naming its record."""
    required, convert = SAMPLE_FORMATS[format]
    where = rows.where
    src = source or rows.name
    out: list[Sample] = []
    for line, row in rows.records:
        if not isinstance(row, Mapping):
            raise DataError(f"record {line}: expected a JSON object", where, line)
        if row.get(META_KEY) is not None and format in ("messages", "prompt-completion"):
            try:  # a file dem wrote: keep its provenance (and check its hash)
                out.append(Sample.from_row(_dem_row(row), source=src))
            except DataError as exc:
                raise DataError(f"record {line}: {exc}", where, line) from None
            continue
        for name in required:
            if name not in row:
                raise DataError(f"record {line}: missing column {name!r}", where, line)
        try:
            content, meta = convert(row)
            canary = cell(row, "canary").strip() or None
            out.append(Sample(normalize_content(content), src, license, canary, meta))
        except DataError as exc:
            raise DataError(f"record {line}: {exc}", where, line) from None
    if not out:
        raise DataError("no records", where)
    return out


def _dem_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with dem provenance as `Sample.from_row` takes it: in a table (`dem data export`)
    the provenance is a JSON string and the columns of other sample kinds are null."""
    prov = row[META_KEY]
    if isinstance(prov, str):
        prov = parse_json(prov, "provenance")
    return {**{k: v for k, v in row.items() if v is not None}, META_KEY: prov}


def load_messages(path_or_id: str | Path, **kw: Any) -> list[Sample]:
    """Chat JSONL rows ``{"messages": [{"role", "content"}, ...]}``."""
    return load_format(path_or_id, "messages", **kw)


def load_prompt_completion(path_or_id: str | Path, **kw: Any) -> list[Sample]:
    """``{"prompt", "completion"}`` rows; a boolean ``label`` makes a KTO sample."""
    return load_format(path_or_id, "prompt-completion", **kw)


def load_alpaca(path_or_id: str | Path, **kw: Any) -> list[Sample]:
    """Alpaca rows (JSON list or JSONL): user = instruction [+ blank line + input]."""
    return load_format(path_or_id, "alpaca", **kw)


def load_dolly(path_or_id: str | Path, **kw: Any) -> list[Sample]:
    """Dolly-15k rows: user = instruction [+ blank line + context]; category kept in meta."""
    return load_format(path_or_id, "dolly", **kw)
