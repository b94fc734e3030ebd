"""Rows of a data file, a saved dataset or a hub dataset, read through `datasets` where it does
the job, with dem's own readers where they say more.

- parquet, arrow, CSV (every cell read as a string, empty cells as ''), JSON and JSONL, also
  compressed (``.gz``, ``.bz2``, ``.xz``, ``.zst``): `datasets`' packaged builders, in memory
  and with a throwaway cache. CSV and plain JSON/JSONL are decoded by dem first, so a byte that
  is not UTF-8 names its line.
- plain JSON/JSONL that `datasets` cannot read (e.g. a column whose type changes from row to
  row), and any row a loader rejects, are read again by dem's reader, whose errors name the line
  (`Rows.exact`); dem's own files (a manifest beside them, or ``_dem`` provenance in the rows)
  are read by dem's reader only, so their provenance comes back as written.
- a `save_to_disk` folder: `datasets.load_from_disk` (a `DatasetDict` gives its `split`).
- a hub id, ``owner/name`` or pinned ``owner/name@REVISION`` (a commit, tag or branch), or with
  ``revision=``: `datasets.load_dataset`. The default source id of its rows is
  ``owner/name@REVISION``, so the revision is recorded in every manifest made of them.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dem.data.records import META_KEY
from dem.errors import DataError
from dem.models.quiet import quiet_datasets

COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")
BUILDERS = {".parquet": "parquet", ".arrow": "arrow", ".csv": "csv", ".json": "json"}
BUILDERS[".jsonl"] = "json"
DATASET_FOLDER_FILES = ("dataset_info.json", "dataset_dict.json", "state.json")
REVISION_SEP = "@"


@dataclass(frozen=True)
class Rows:
    """The rows of one table as ``(number, row)`` pairs: a number is the line of a JSONL file
    read by dem, else the row's position from 1. `reread` reads the file again with dem's
    reader, when `datasets` read a plain JSON/JSONL file."""

    where: str | Path
    name: str
    columns: tuple[str, ...]
    records: list[tuple[int, Any]]
    reread: Callable[[], Rows] | None = None

    def convert(self, fn: Callable[[Rows], Any]) -> Any:
        """`fn(self)`; when it raises `DataError` and dem's reader can read the file again with
        line numbers, `fn` of that (its error names the line, or it succeeds)."""
        try:
            return fn(self)
        except DataError:
            if self.reread is None:
                raise
        return fn(self.reread())


def split_revision(ref: str) -> tuple[str, str | None]:
    """``owner/name@rev`` -> ``("owner/name", "rev")``; no ``@`` -> ``(ref, None)``."""
    name, sep, revision = ref.partition(REVISION_SEP)
    if sep and not revision:
        raise DataError(f"empty revision after {REVISION_SEP!r}", ref)
    return name, (revision if sep else None)


def builder_of(path: Path) -> str | None:
    """The `datasets` builder that reads `path` by its suffix (compression aside), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return BUILDERS.get(suffixes[-1]) if suffixes else None


def is_dataset_folder(path: Path) -> bool:
    """Whether `path` is a folder written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`."""
    return path.is_dir() and any((path / name).is_file() for name in DATASET_FOLDER_FILES)


def is_compressed(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIONS


def table_rows(
    path_or_id: str | Path, *, split: str = "train", revision: str | None = None
) -> Rows:
    """The rows of a local file or folder, or of a hub dataset (`split`, `revision`)."""
    from dem.data.sources._common import as_local_path

    local = as_local_path(path_or_id)
    if local is None:
        return hub_dataset_rows(str(path_or_id), None, split, revision)
    if revision is not None:
        raise DataError(f"revision {revision!r} applies to hub datasets, not local files", local)
    return local_rows(local, split=split)


def local_rows(path: Path, *, split: str = "train") -> Rows:
    """The rows of a local file or saved dataset folder (see the module docstring)."""
    if path.is_dir():
        if not is_dataset_folder(path):
            raise DataError("expected a data file or a saved dataset folder, got a folder", path)
        return _from_dataset(*_disk_dataset(path, split), path, path.name)
    builder = builder_of(path)
    if builder is None:
        raise DataError(
            f"unknown data file type {path.suffix!r} (one of {', '.join(sorted(BUILDERS))}, "
            f"optionally compressed: {', '.join(COMPRESSIONS)})",
            path,
        )
    name = path.name.split(".")[0] or path.stem
    if builder == "json" and not is_compressed(path):
        return _plain_json_rows(path, name)
    features = _csv_features(path) if builder == "csv" else None
    return _from_dataset(*_file_dataset(path, builder, features), path, name)


def hub_dataset_rows(
    dataset_id: str, config: str | None = None, split: str = "train", revision: str | None = None
) -> Rows:
    """The rows of a hub dataset split at `revision` (or the one pinned in `dataset_id`)."""
    name, pinned = split_revision(dataset_id)
    if pinned and revision and pinned != revision:
        raise DataError(f"two revisions: {pinned!r} in the id and {revision!r}", dataset_id)
    revision = revision or pinned
    import datasets

    try:
        ds = datasets.load_dataset(name, config, split=split, revision=revision)
    except Exception as exc:  # network, missing config, split or revision: report, don't crash
        raise DataError(
            f"could not load hub dataset (config={config!r}, split={split!r}, "
            f"revision={revision!r}): {exc}",
            name,
        ) from exc
    label = f"{name}{REVISION_SEP}{revision}" if revision else name
    return _from_dataset(ds.column_names, ds.to_list(), label, label)


def _plain_json_rows(path: Path, name: str) -> Rows:
    """dem's reader for dem's files; `datasets`' JSON builder for others, dem's on failure."""
    from dem.data.sources._common import read_records

    def dem_rows() -> Rows:
        records = read_records(path)
        first = records[0][1] if records else {}
        columns = tuple(first) if isinstance(first, Mapping) else ()
        return Rows(path, name, columns, records)

    if _is_dem_file(path):
        return dem_rows()
    from dem.textfile import read_text

    read_text(path)  # bytes that are not UTF-8 name their line
    try:
        columns, rows = _file_dataset(path, "json", None)
    except DataError:
        return dem_rows()
    return Rows(path, name, tuple(columns), list(enumerate(rows, 1)), reread=dem_rows)


def _is_dem_file(path: Path) -> bool:
    from dem.data.jsonl import manifest_path

    if manifest_path(path).is_file():
        return True
    with path.open("rb") as fh:
        return f'"{META_KEY}"'.encode() in fh.read(1 << 16)


def _csv_features(path: Path) -> Any:
    """Every column of a CSV file as a string column (no numbers or NaN guessed from cells)."""
    import datasets

    from dem.data.sources._common import csv_text

    header = next(csv.reader(csv_text(path)), None)
    if not header:
        raise DataError("empty CSV file (no header)", path)
    if len(set(header)) != len(header):
        raise DataError(f"duplicate column names in the header: {header}", path, 1)
    return datasets.Features({name: datasets.Value("string") for name in header})


def _file_dataset(path: Path, builder: str, features: Any) -> tuple[list[str], list[dict]]:
    """Column names and rows of a file, read by `datasets`' `builder` in a throwaway cache."""
    import datasets

    kwargs: dict[str, Any] = {}
    if builder == "csv":
        kwargs = {"features": features, "keep_default_na": False, "na_filter": False}
    with tempfile.TemporaryDirectory(prefix="dem-datasets-") as cache, quiet_datasets():
        try:
            ds = datasets.load_dataset(
                builder,
                data_files=str(path),
                split="train",
                cache_dir=cache,
                keep_in_memory=True,
                **kwargs,
            )
            return list(ds.column_names), ds.to_list()
        except Exception as exc:
            raise DataError(
                f"datasets could not read this {builder} file: {_cause(exc)}", path
            ) from exc


def _disk_dataset(path: Path, split: str) -> tuple[list[str], list[dict]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DataError(f"datasets could not load this saved dataset: {_cause(exc)}", path) from exc
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"no split {split!r} (splits: {', '.join(ds)})", path)
        ds = ds[split]
    return list(ds.column_names), ds.to_list()


def _from_dataset(columns: list[str], rows: list[dict], where: str | Path, name: str) -> Rows:
    """Rows as `datasets` lists them (a column missing from some rows of a JSON file comes back
    as None in them, as a null cell does; dem's loaders read both as empty)."""
    return Rows(where, name, tuple(columns), list(enumerate(rows, 1)))


def _cause(exc: BaseException) -> str:
    """The innermost message of a `datasets` error chain (its outer ones say little)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"
