"""A tiny organism grid, its serial run, and a local Ray cluster for the Ray tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from dem.experiments.session import Experiment
from dem.report.results import RunResults

# The mix_ratio grid at its smallest: vanilla, control and two ratios at one seed (4 conditions),
# a few training steps on 64 samples, scored on 40 eval rows.
TINY = """
name = "tiny"
model = "organism"
seeds = [0]
bootstrap = 100
[data]
downstream = "organism:downstream"
misaligned = "organism:medical/severe"
downstream_n = 64
relative_to = "total"
[train]
profile = "cpu"
[train.overrides]
lora_r = 4
lora_alpha = 8
lora_dropout = 0.0
learning_rate = 2e-3
max_steps = 4
batch_size = 16
max_length = 128
[eval]
sets = ["organism:mask"]
limit = 40
[mix_ratio]
ratios = [0.05, 0.25]
threshold_ratio = 0.05
[gate]
min_decidable = 10
"""


@pytest.fixture(scope="session")
def tiny_preset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("preset") / "tiny.toml"
    path.write_text(TINY)
    return path


def tiny_experiment(preset: Path, cache: Path) -> Experiment:
    return Experiment.create(str(preset), cache=str(cache))


@pytest.fixture(scope="session")
def serial(tiny_preset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResults]:
    """The tiny grid built here, one condition after another: (its store, its results)."""
    cache = tmp_path_factory.mktemp("serial") / "cache"
    return cache, tiny_experiment(tiny_preset, cache).run_grid("mix_ratio")


def comparable(run: RunResults, cache: Path) -> str:
    """The run's conditions and claims as canonical JSON, with its store's path masked (a result
    names its adapter's folder, which lies in that run's store)."""
    data = {
        "conditions": [c.to_dict() for c in run.conditions],
        "comparisons": [c.to_dict() for c in run.comparisons],
    }
    return json.dumps(data, sort_keys=True).replace(str(cache.resolve()), "<store>")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[dict[str, float]]:
    """A local Ray cluster of 2 CPUs and 2 (fake) GPUs for the Ray tests' module; its resources.
    Shut down after the module: an idle cluster still costs about 5 % of a core, which the
    grids that follow would lose."""
    ray = pytest.importorskip("ray")
    import logging

    ray.init(
        num_cpus=2,
        num_gpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    yield ray.cluster_resources()
    ray.shutdown()
