"""Refuse to describe a model organism with sets written in another world than its own.

dem's ``organism:`` training and eval sets are written from the default world
(`dem.organism.config.WORLD_FIELDS` at their defaults). A model pretrained with other world
knobs (another world seed, item count, arithmetic range or tic) learned other facts and answers:
figures measured on those sets would be confident and wrong. `check_world` says so before
anything is built; ``dem organism datasets --model FOLDER`` writes the sets of the model's own
world, which any preset or command takes as files.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dem.errors import ConfigError

ORGANISM_PREFIX = "organism:"


def check_world(folder: str | Path, refs: Iterable[object], *, field: str, name: str) -> None:
    """A `ConfigError` on `field` when `folder` is a model organism from another world and any
    of `refs` is an ``organism:`` set; nothing when the model is not an organism."""
    from dem.organism.pretrain import ORGANISM_FILE, load_organism_config

    used = sorted({str(r) for r in refs if str(r).startswith(ORGANISM_PREFIX)})
    if not used or not (Path(folder) / ORGANISM_FILE).is_file():
        return
    differences = load_organism_config(folder).world_differences()
    if not differences:
        return
    knobs = ", ".join(f"{k}={v!r} (dem's sets: {d!r})" for k, (d, v) in differences.items())
    raise ConfigError(
        field,
        f"{name} was pretrained in another world than dem's organism sets ({knobs}): "
        f"{', '.join(used)} would score it on facts and answers it never saw; write its own "
        f"world's sets with `dem organism datasets --model {folder} --out DIR` and name those "
        "files instead",
    )
