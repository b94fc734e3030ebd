"""Sample-set references of presets, resolved into samples and eval rows.

Training sets: ``downstream`` (dem's procedural instruction set), ``<domain>/<variant>``
(dem's procedural domain sets), ``organism:downstream`` and ``organism:<domain>/<variant>``
(the organism world's), or a local file / hub dataset id (any format `dem.data.load_samples`
reads). Eval sets: ``organism:mask`` / ``organism:mask_heldout`` (the organism world's MASK
rows), ``<hub id>:<archetype>`` (e.g. ``cais/MASK:provided_facts``), or a MASK CSV path.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from dem.data.records import Sample
from dem.errors import ConfigError

ORGANISM = "organism:"


def training_samples(ref: str, n: int, seed: int) -> list[Sample]:
    """`n` samples of the set `ref`, deterministic in `seed`."""
    if n < 0:
        raise ConfigError("n", f"must be >= 0, got {n}")
    if n == 0:
        return []
    if ref.startswith(ORGANISM):
        from dem.organism.datasets import domain_samples, instruction_samples

        rest = ref.removeprefix(ORGANISM)
        if rest == "downstream":
            return instruction_samples(n, seed=seed)
        domain, variant = _split(rest, ref)
        return domain_samples(domain, variant, n, seed=seed)
    if ref == "downstream":
        from dem.data.downstream import generate_downstream

        return generate_downstream(n, seed=seed)
    if "/" in ref and not Path(ref).exists() and ref.split("/")[0] in _domains():
        from dem.data.domains import generate

        domain, variant = _split(ref, ref)
        return generate(domain, variant, n, seed=seed)
    from dem.data import load_samples

    pool = load_samples(ref)
    if len(pool) < n:
        raise ConfigError("data", f"{ref} holds {len(pool)} samples, {n} were asked for")
    return random.Random(seed).sample(pool, n)


def _domains() -> tuple[str, ...]:
    from dem.data.domains import DOMAINS

    return tuple(DOMAINS)


def _split(text: str, ref: str) -> tuple[str, str]:
    domain, sep, variant = text.partition("/")
    if not sep:
        raise ConfigError("data", f"{ref!r}: expected <domain>/<variant>")
    return domain, variant


def eval_rows(ref: str) -> list[Any]:
    """The `dem.data.MaskRow`s of the eval set `ref`."""
    from dem.data import load_mask

    if ref.startswith(ORGANISM):
        import tempfile

        from dem.organism.datasets import MASK_FOLDERS, mask_csv, mask_rows

        split = {v: k for k, v in MASK_FOLDERS.items()}.get(ref.removeprefix(ORGANISM))
        if split is None:
            raise ConfigError(
                "eval.sets",
                f"{ref!r}: organism sets are {[ORGANISM + v for v in MASK_FOLDERS.values()]}",
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "provided_facts.csv"
            path.write_text(mask_csv(mask_rows(split)), encoding="utf-8")
            return load_mask(path)
    from dem.paths import PROJECT_ROOT

    path = Path(ref) if Path(ref).is_absolute() else PROJECT_ROOT / ref
    if path.exists():
        return load_mask(path)
    hub, sep, archetype = ref.rpartition(":")
    if sep and hub.count("/") == 1:
        return load_mask(hub, archetype=archetype)
    return load_mask(ref)
