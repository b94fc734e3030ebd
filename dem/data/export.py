"""Samples as a `datasets` folder (`Dataset.save_to_disk`) with a dataset card.

The folder holds TRL-ready columns (``messages``, or ``prompt`` / ``completion`` / ``label``)
plus ``_dem``, each row's provenance as JSON (source, license, sha256, canary, metadata); a
``README.md`` dataset card (YAML metadata, counts, sources, licenses, canaries, the manifest
hash and recipe); and ``dem_manifest.json``. It loads with `datasets.load_from_disk`, and dem
reads it back (``dem train sft --data DIR``) with every sample's provenance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dem.atomic import atomic_folder, write_json
from dem.data.records import META_KEY, Manifest, Sample, canonical_json
from dem.errors import ConfigError, DataError

CARD = "README.md"
MANIFEST = "dem_manifest.json"


def export_dataset(
    samples: Sequence[Sample],
    out: str | Path,
    *,
    origin: str,
    recipe: Mapping[str, Any] | None = None,
) -> Manifest:
    """Write `samples` to the folder `out` (absent or empty); `origin` names where they came
    from in the card. The folder is written beside `out` and renamed into place."""
    if not samples:
        raise DataError("no samples to export", origin)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError("to", f"{out} exists and is not an empty folder")
    manifest = Manifest.of(samples, recipe)
    with atomic_folder(out) as tmp:
        _save(samples, tmp)
        (tmp / CARD).write_text(dataset_card(manifest, name=out.name, origin=origin), "utf-8")
        write_json(tmp / MANIFEST, manifest.to_dict())
    return manifest


def export_source(
    ref: str | Path, out: str | Path, *, format: str | None = None, split: str = "train"
) -> Manifest:
    """Load training samples from `ref` (any file, folder or hub id `load_samples` reads) and
    export them to `out`; a dem file's recipe (its manifest beside it) comes along."""
    from dem.data.jsonl import manifest_path
    from dem.data.sources import load_samples
    from dem.data.sources._common import as_local_path
    from dem.textfile import read_json

    samples = load_samples(ref, format, split=split)
    local = as_local_path(ref)
    recipe: dict[str, Any] = {"kind": "export", "from": str(ref)}
    if local is not None and manifest_path(local).is_file():
        recipe = {**recipe, "source_recipe": read_json(manifest_path(local)).get("recipe", {})}
    return export_dataset(samples, out, origin=str(ref), recipe=recipe)


def _save(samples: Sequence[Sample], folder: Path) -> None:
    """`Dataset.save_to_disk`, one column per field of any sample (null where a row of another
    kind has none), no progress bars."""
    import datasets
    from datasets.utils import logging as ds_logging

    rows = [{**s.content, META_KEY: canonical_json(s.to_row()[META_KEY])} for s in samples]
    columns = list(dict.fromkeys(name for row in rows for name in row))
    was = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        table = datasets.Dataset.from_dict({c: [row.get(c) for row in rows] for c in columns})
        table.save_to_disk(str(folder))
    finally:
        if was:
            ds_logging.enable_progress_bar()


def dataset_card(manifest: Manifest, *, name: str, origin: str) -> str:
    """The ``README.md`` of an exported folder: YAML metadata, then what the folder holds."""
    from huggingface_hub import DatasetCardData

    licenses = list(manifest.licenses)
    data = DatasetCardData(
        pretty_name=name,
        license=_hub_license(licenses[0]) if len(licenses) == 1 else "other",
        size_categories=[_size_category(manifest.count)],
        tags=["dem", *sorted(manifest.kinds)],
    )
    kinds = ", ".join(f"{k}: {v}" for k, v in manifest.kinds.items())
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        f"Exported by `dem data export` from `{origin}`: {manifest.count} samples ({kinds}).",
        "",
        "| | |",
        "| --- | --- |",
        f"| samples | {manifest.count} |",
        f"| kinds | {kinds} |",
        f"| sources | {_counts(manifest.sources)} |",
        f"| licenses | {_counts(manifest.licenses)} |",
        f"| canaries | {', '.join(f'`{c}`' for c in manifest.canaries) or 'none'} |",
        f"| manifest sha256 | `{manifest.sha256}` |",
        "",
        "## Columns",
        "",
        "- TRL's columns: `messages` (conversational), or `prompt` and `completion` (with a "
        "boolean `label` for KTO).",
        f"- `{META_KEY}`: each row's provenance as JSON (source, license, sha256 of the content, "
        "canary, metadata). Trainers that keep extra columns need "
        f"`ds.remove_columns('{META_KEY}')`.",
        "",
        "## Recipe",
        "",
        "```json",
        json.dumps(dict(manifest.recipe), indent=2, sort_keys=True),
        "```",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_from_disk",
        "",
        f'ds = load_from_disk("{name}")',
        "```",
        "",
        f"or, with its provenance, `dem train sft --data {name}` or "
        f'`dem.data.load_samples("{name}")`.',
        "",
    ]
    return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in counts.items())


def _hub_license(license: str) -> str:
    """A license name as the hub's card metadata spells it (lower case); ``unknown`` stays."""
    return license.strip().lower() or "unknown"


def _size_category(n: int) -> str:
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < bound:
            return label
    return "100K<n<1M" if n < 1_000_000 else "n>1M"
