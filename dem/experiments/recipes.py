"""Sample-set references of presets, resolved into samples and eval rows.

Training sets: ``downstream`` (dem's procedural instruction set), ``<domain>/<variant>``
(dem's procedural domain sets), ``organism:downstream`` and ``organism:<domain>/<variant>``
(the organism world's), or a local file / hub dataset id (any format `dem.data.load_samples`
reads). Eval sets: see `dem.evals.sets` (``organism:mask``, ``dem:mask_pressure``, a MASK
CSV path, ``<hub id>:<archetype>``).
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


def source_fingerprints(recipe: Any) -> dict[str, str]:
    """sha256 of every data file a training recipe reads, by reference (generated sets are
    covered by the store's code fingerprint instead; hub ids by their name)."""
    from dem.data.records import sha256_file

    refs = [recipe.get(k) for k in ("downstream", "misaligned") if k in dict(recipe.params)]
    out = {}
    for ref in refs:
        path = Path(ref).expanduser()
        if not ref.startswith(ORGANISM) and path.exists():
            files = sorted(path.rglob("*")) if path.is_dir() else [path]
            out[ref] = sha256_file(*[f for f in files if f.is_file()])
    return out


def _domains() -> tuple[str, ...]:
    from dem.data.domains import DOMAINS

    return tuple(DOMAINS)


def _split(text: str, ref: str) -> tuple[str, str]:
    domain, sep, variant = text.partition("/")
    if not sep:
        raise ConfigError("data", f"{ref!r}: expected <domain>/<variant>")
    return domain, variant


def eval_rows(ref: str) -> list[Any]:
    """The `dem.data.MaskRow`s of the eval set `ref` (`dem.evals.sets.load_eval_set`)."""
    from dem.evals.sets import load_eval_set

    return load_eval_set(ref)
