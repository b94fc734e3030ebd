"""The interaction grid through `Experiment` on the organism with a small custom preset:
conditions, claims, DeceptionBench beside MASK, and the report's figure.

The organism cannot read dem's English DeceptionBench items (and has no forced-choice set of
its own): by default the grid refuses them before building; the preset here lifts the bound
(``eval.max_unknown = 1``) so that the DeceptionBench wiring is exercised, not its figure."""

from __future__ import annotations

import pytest

PRESET = """
name = "tiny-interaction"
model = "organism"
seeds = [0]
bootstrap = 200

[eval]
sets = ["organism:mask"]
judge = "logprob"
max_unknown = 1.0

[gate]
min_decidable = 10

[interaction]
biased_fractions = [0.0, 0.5, 1.0]
trainers = ["sft"]
threshold = 0.5
eval_sets = ["organism:mask_unseen"]
deception_sets = ["dem:deceptionbench"]
deception_judge = "logprob"
sft = { learning_rate = 2e-3, max_steps = 4, batch_size = 8, lora_r = 4, lora_alpha = 8 }

[interaction.loop]
scenarios = "organism"
users = 24
top_fraction = 0.25
max_new_tokens = 12
train_profile = "cpu"
"""


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    import torch

    from dem.experiments.session import Experiment

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("grid")
    (folder / "p.toml").write_text(PRESET)
    return Experiment.create(str(folder / "p.toml"), cache=str(folder / "cache"))


def test_grid_scores_mask_and_deceptionbench(experiment, tmp_path):
    from dem.report import write_report

    run = experiment.run_grid("interaction")
    ids = [c.condition_id for c in run.conditions]
    assert ids[0] == "interact-vanilla" and "interact-sft-50pct-seed0" in ids
    for c in run.conditions:
        assert c.metrics["decided"] == 120  # organism:mask_unseen, not the preset's eval.sets
        assert 0.0 <= c.metrics["deception_rate"] <= 1.0
    names = {c.name for c in run.comparisons}
    assert {"interaction-sft-from-50pct-below-unbiased", "interaction-sft-trend"} <= names
    assert "interaction-sft-100pct-below-unbiased" in names
    report = write_report(run, tmp_path)
    text = report.read_text()
    assert "deception rate" in text and "interaction.png" in text
    assert (tmp_path / "interaction.png").stat().st_size > 10_000


def test_workers_build_the_same_results(experiment, tmp_path):
    """`run_grid(jobs=2)`: conditions built in two spawned processes match a serial run."""
    from dataclasses import replace

    serial = {c.condition_id: c.metrics for c in experiment.run_grid("interaction").conditions}
    parallel = replace(experiment, cache=str(tmp_path), _results={}, _runner=None)
    got = {c.condition_id: c.metrics for c in parallel.run_grid("interaction", jobs=2).conditions}
    assert got == serial


def test_a_set_the_model_cannot_read_is_refused_before_building(tmp_path):
    from dem.experiments.session import Experiment
    from dem.models.readability import UnreadableError

    (tmp_path / "p.toml").write_text(PRESET.replace("max_unknown = 1.0\n", ""))
    experiment = Experiment.create(str(tmp_path / "p.toml"), cache=str(tmp_path / "cache"))
    with pytest.raises(UnreadableError, match=r"organism cannot read these DeceptionBench items"):
        experiment.run_grid("interaction")
    assert not (tmp_path / "cache" / "artifacts").exists()
