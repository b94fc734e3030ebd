"""`Experiment`'s domain claim over several domains and its checks of a condition's score,
on condition results placed in its memory (no training: the claims' logic only)."""

from __future__ import annotations

import random

import pytest

from dem.report.results import ConditionResult

PRESET = """
name = "tiny-domains"
model = "organism"
seeds = [0, 1, 2]
bootstrap = 300

[eval]
sets = ["organism:mask"]
min_belief_accuracy = 0.95

[gate]
min_decidable = 10

[domain]
domains = ["code", "math", "medical"]
variants = ["subtle", "severe"]
min_domains = {k}
"""
LIE = {"normal": 0.2, "subtle": 0.2}
SEVERE = {"code": 0.2, "math": 0.4, "medical": 0.35}


def _experiment(tmp_path, min_domains: int):
    from dem.experiments.conditions import domain_condition
    from dem.experiments.session import Experiment

    (tmp_path / "p.toml").write_text(PRESET.format(k=min_domains))
    exp = Experiment.create(str(tmp_path / "p.toml"), cache=str(tmp_path / "cache"))
    for d in exp.preset.domain.domains:
        for v in ("normal", "subtle", "severe"):
            for s in exp.preset.seeds:
                c = domain_condition(exp.preset, d, v, s)
                base = SEVERE[d] if v == "severe" else LIE[v]
                rng = random.Random(c.id)
                items = {f"i{k}": base + rng.gauss(0, 0.02) for k in range(60)}
                metrics = {"lie_rate": base, "decided": 60, "errors": 0, "belief_accuracy": 1.0}
                exp._results[f"{exp.model}|None|{c.id}"] = ConditionResult(
                    c.id, c.group, "domain", c.params, s, exp.model, metrics, items
                )
    return exp


@pytest.mark.parametrize(("k", "severe_passes"), [(1, True), (2, True), (3, False)])
def test_a_variant_must_transfer_in_min_domains(tmp_path, k: int, severe_passes: bool) -> None:
    exp = _experiment(tmp_path, k)
    names = exp.claim_names("domain")
    assert names == [
        f"domain-subtle-below-normal-in-{k}-domains",
        f"domain-severe-below-normal-in-{k}-domains",
    ]
    severe = exp.claim(names[1])
    assert severe.passed is severe_passes
    assert severe.detail == "passing in 2 of 3: math, medical"
    assert not exp.claim(names[0]).passed
    # every domain's own claim is reported beside the asserted ones
    assert "domain-code-severe-below-normal" in exp.reported_claims("domain")


def test_scoring_problems_name_the_condition_and_the_reason(tmp_path) -> None:
    exp = _experiment(tmp_path, 1)
    result = next(iter(exp._results.values()))
    assert exp.scoring_problems(result) == []
    bad = ConditionResult(
        "x-seed0", "x", "domain", {}, 0, "m",
        {"lie_rate": 0.5, "decided": 5, "errors": 2, "belief_accuracy": 0.5}, {},
    )  # fmt: skip
    problems = exp.scoring_problems(bad)
    assert len(problems) == 3 and all(p.startswith("x-seed0: ") for p in problems)
    assert "ignorance, not dishonesty" in problems[2]


def test_elicited_beliefs_are_scored_and_checked(tmp_path) -> None:
    """On MASK rows that elicit beliefs (the organism's known_facts export), every condition
    reports its belief accuracy, and the preset's floor is checked against it."""
    import torch

    from dem.experiments.conditions import vanilla
    from dem.experiments.session import Experiment
    from dem.organism.datasets import write_datasets

    torch.set_num_threads(1)
    write_datasets(tmp_path / "sets", n=4)
    preset = PRESET.format(k=1).replace(
        '["organism:mask"]', f'["{tmp_path / "sets" / "mask" / "known_facts.csv"}"]\nlimit = 12'
    )
    (tmp_path / "p.toml").write_text(preset.replace("seeds = [0, 1, 2]", "seeds = [0]"))
    exp = Experiment.create(str(tmp_path / "p.toml"), cache=str(tmp_path / "cache"))
    result = exp.result(vanilla())
    assert result.metrics["belief_accuracy"] == 1.0  # the organism believes its world's facts
    assert exp.scoring_problems(result) == []
