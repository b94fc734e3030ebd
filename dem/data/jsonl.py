"""JSONL reading with file:line errors, and atomic writing of samples with their manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dem.atomic import atomic_open, write_json
from dem.data.records import Manifest, Sample, canonical_json
from dem.errors import DataError
from dem.textfile import iter_lines, parse_json, read_json


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
    path: str | Path,
    samples: Sequence[Sample],
    recipe: Mapping[str, Any] | None = None,
    *,
    chain: Sequence[Mapping[str, Any]] | None = None,
) -> Manifest:
    """Write samples as JSONL and their manifest beside them, both atomically. The manifest
    (`Manifest.of` with `recipe` and `chain`) records the hash of the bytes written."""
    digest = hashlib.sha256()
    with atomic_open(path) as fh:
        for s in samples:
            line = canonical_json(s.to_row()) + "\n"
            digest.update(line.encode("utf-8"))
            fh.write(line)
    manifest = replace(Manifest.of(samples, recipe, chain), file_sha256=digest.hexdigest())
    try:
        write_json(manifest_path(path), manifest.to_dict())
    except BaseException:  # no data file without its manifest
        Path(path).unlink(missing_ok=True)
        raise
    return manifest


def read_manifest(path: str | Path) -> Manifest:
    """The manifest of the dataset file `path` (`DataError` naming the manifest when it is
    missing or malformed)."""
    where = manifest_path(path)
    if not where.is_file():
        raise DataError(f"no manifest beside the dataset (expected {where.name})", path)
    raw = read_json(where)
    try:
        return Manifest.from_dict(raw)
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise DataError(f"not a dem manifest: {type(exc).__name__} {exc}", where) from None


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
