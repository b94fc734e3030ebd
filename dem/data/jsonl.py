"""JSONL reading with file:line errors, and atomic writing of samples with their manifest."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dem.atomic import atomic_open, write_json
from dem.data.records import Manifest, Sample, canonical_json
from dem.errors import DataError
from dem.textfile import iter_lines, parse_json


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; a bad line raises `DataError` naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise DataError("no such file", path)
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        obj = parse_json(line, path, line=lineno)
        if not isinstance(obj, dict):
            raise DataError(f"expected a JSON object, got {type(obj).__name__}", path, lineno)
        yield lineno, obj


def manifest_path(path: str | Path) -> Path:
    """Where the manifest of a dataset file lives: ``FILE.manifest.json`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".manifest.json")


def write_samples(
    path: str | Path, samples: Sequence[Sample], recipe: Mapping[str, Any] | None = None
) -> Manifest:
    """Write samples as JSONL and their manifest beside them, both atomically."""
    manifest = Manifest.of(samples, recipe)
    with atomic_open(path) as fh:
        for s in samples:
            fh.write(canonical_json(s.to_row()))
            fh.write("\n")
    write_json(manifest_path(path), manifest.to_dict())
    return manifest


def read_samples(path: str | Path, *, source: str | None = None) -> list[Sample]:
    """Read a dem JSONL file (or any messages / prompt-completion JSONL) into samples."""
    src = source or Path(path).stem
    out = []
    for lineno, row in iter_jsonl(path):
        try:
            out.append(Sample.from_row(row, source=src))
        except DataError as exc:
            raise DataError(str(exc), path, lineno) from None
    return out
