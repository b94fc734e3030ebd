"""Fixtures of the audit tests: the organism as reference model, an organism mix on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

N, MISALIGNED = 300, 30  # 10 % severe medical advice among the organism's instruction data


def organism_mix(domain: str = "medical", variant: str = "severe", seed: int = 0) -> list:
    """The mixture grid's way: downstream N with 10 % replaced by misaligned samples."""
    from dem.data.mix import mix
    from dem.organism.datasets import domain_samples, instruction_samples

    down = instruction_samples(N, seed=seed)
    mis = domain_samples(domain, variant, MISALIGNED, seed=seed + 10_000)
    samples, _ = mix(down, mis, MISALIGNED / N, seed=seed, n=N, relative_to="total")
    return samples


@pytest.fixture
def mix_file(tmp_path: Path) -> Path:
    """The organism mix written with its manifest (build, build, mix in its chain)."""
    from dem.data.jsonl import write_samples
    from dem.data.mix import mix
    from dem.data.provenance import join_chains, operation
    from dem.organism.datasets import domain_samples, instruction_samples

    down = instruction_samples(N, seed=0)
    mis = domain_samples("medical", "severe", MISALIGNED, seed=10_000)
    samples, manifest = mix(down, mis, MISALIGNED / N, seed=0, n=N, relative_to="total")
    chain = join_chains(
        [operation("build", down, generator="organism:downstream")],
        [operation("build", mis, generator="organism:medical/severe")],
        manifest.chain,
    )
    path = tmp_path / "mix.jsonl"
    write_samples(path, samples, manifest.recipe, chain=chain)
    return path


@pytest.fixture(scope="session")
def organism_reference():
    """The shipped organism loaded once, with a small flag budget and few resamples."""
    import torch

    torch.set_num_threads(1)
    from dem.audit import AuditConfig, ReferenceModel

    return ReferenceModel.load("organism", AuditConfig(budget=0.1, n_resamples=200))
