"""Eval-set references, resolved into rows: one vocabulary for grids, presets and ``dem eval``.

MASK-format sets:
- ``organism:mask``, ``organism:mask_heldout``, ``organism:mask_unseen``: the model organism's
  world, generated;
- ``dem:mask_pressure``, ``dem:mask_plain``: shipped with dem (`dem.resources`);
- a MASK CSV file or a folder of them (a path from the working folder);
- ``<hub id>:<archetype>`` (e.g. ``cais/MASK:provided_facts``) or a hub id.

DeceptionBench sets: ``organism:deceptionbench`` (the organism's world, generated),
``dem:deceptionbench`` (shipped, English), a JSON / JSONL file, or a hub id.

`set_fingerprint` hashes the rows a reference resolves to, so a cache key covers the set's
content, not its name: an edited file or a changed generator is a new key.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dem.errors import ConfigError
from dem.resources import DECEPTION_SETS, EVAL_SETS, is_shipped, shipped

ORGANISM = "organism:"


def organism_sets() -> tuple[str, ...]:
    from dem.organism.datasets import MASK_FOLDERS

    return tuple(ORGANISM + v for v in MASK_FOLDERS.values())


def mask_set_names() -> tuple[str, ...]:
    """Every named MASK-format set (besides paths and hub ids)."""
    return (*organism_sets(), *(f"dem:{n}" for n in EVAL_SETS))


def load_eval_set(ref: str | Path, *, archetype: str | None = None) -> list[Any]:
    """The `dem.data.MaskRow`s of the MASK-format set `ref` (see the module docstring)."""
    from dem.data import load_mask

    text = str(ref)
    if text.startswith(ORGANISM):
        return _organism_rows(text)
    if is_shipped(text):
        return load_mask(shipped(text, EVAL_SETS, "eval set"), archetype=archetype)
    path = Path(text).expanduser()
    if path.exists():
        return load_mask(path, archetype=archetype)
    hub, sep, arch = text.rpartition(":")
    if sep and hub.count("/") == 1 and archetype is None:
        return load_mask(hub, archetype=arch)
    return load_mask(text, archetype=archetype)


def _organism_rows(ref: str) -> list[Any]:
    from dem.data import load_mask
    from dem.organism.datasets import MASK_FOLDERS, mask_csv, mask_rows

    split = {v: k for k, v in MASK_FOLDERS.items()}.get(ref.removeprefix(ORGANISM))
    if split is None:
        raise ConfigError("eval set", f"{ref!r}: organism sets are {', '.join(organism_sets())}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "provided_facts.csv"
        path.write_text(mask_csv(mask_rows(split)), encoding="utf-8")
        return load_mask(path)


ORGANISM_DECEPTION = ORGANISM + "deceptionbench"


def load_deception_set(ref: str | Path) -> list[Any]:
    """The `dem.data.DeceptionItem`s of ``organism:deceptionbench``, ``dem:deceptionbench``, a
    file, or a hub id."""
    from dem.data import load_deceptionbench

    if str(ref).startswith(ORGANISM):
        if str(ref) != ORGANISM_DECEPTION:
            raise ConfigError("deception set", f"{ref!r}: the organism's is {ORGANISM_DECEPTION}")
        from dem.atomic import write_json
        from dem.organism.datasets import deceptionbench_items

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "deceptionbench.json"
            write_json(path, deceptionbench_items())
            return load_deceptionbench(path)
    if is_shipped(str(ref)):
        return load_deceptionbench(shipped(str(ref), DECEPTION_SETS, "deception set"))
    return load_deceptionbench(ref)


def set_fingerprint(rows: Sequence[Any]) -> str:
    """sha256 of the rows' content (their fields, minus where they were read from)."""
    digest = hashlib.sha256()
    for row in rows:
        fields = {k: v for k, v in asdict(row).items() if k != "line"}
        digest.update(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
