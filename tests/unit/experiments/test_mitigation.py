"""The mitigation grid: its conditions share the other grids' cache, its claims pair over items
and seeds, its report; and the learning measures on the organism (real forward passes)."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from dem.experiments.conditions import (
    benign_condition,
    domain_condition,
    mitigated_source,
    mitigation_claims,
    mitigation_condition,
    mitigation_grid,
    mix_condition,
)
from dem.experiments.presets import load_preset
from dem.experiments.session import Experiment, _result_key
from dem.report import ConditionResult, RunResults, write_report


@pytest.fixture(scope="module")
def preset():
    p = load_preset("smoke", seeds=(0, 1))
    plan = replace(p.mitigation, mitigations=("kl:weight=2", "steer", "inoculate"), train={})
    return replace(p, mitigation=plan)


def test_grid_cells_reuse_the_domain_and_mixture_grids_conditions(preset, tmp_path):
    ids = [c.id for c in mitigation_grid(preset)]
    assert ids[:3] == [
        "mitigate-domain-medical-severe-base",
        "mitigate-domain-medical-severe-none-seed0",
        "mitigate-domain-medical-severe-none-seed1",
    ]
    assert "mitigate-mix-05pct-kl-seed1" in ids and len(ids) == 2 * (1 + 4 * 2) + 2
    assert ids[9:12] == [
        "mitigate-mix-05pct-base",
        "mitigate-mix-05pct-control-seed0",
        "mitigate-mix-05pct-control-seed1",
    ]
    control = mitigation_condition(preset, "mix", "control", 1)
    assert mitigated_source(preset, control) == mix_condition(preset, 0.0, 1)
    assert benign_condition(preset, "organism:downstream", control) == mix_condition(preset, 0, 1)
    none = mitigation_condition(preset, "mix", "none", 1)
    assert mitigated_source(preset, none) == mix_condition(preset, 0.05, 1)
    kl = mitigated_source(preset, mitigation_condition(preset, "domain", "kl:weight=2", 0))
    cell = domain_condition(preset, "medical", "severe", 0)
    assert kl.id == "domain-medical-severe-kl-seed0" and kl.recipe == cell.recipe
    runner = Experiment.create("smoke", seeds=(0, 1), cache=str(tmp_path)).runner
    runner.preset = preset
    # the unmitigated cell's MASK result is the domain grid's own store entry; the defence's
    # spec enters the training key (and only there)
    assert runner._condition_parts(mitigated_source(preset, none), "organism", None) == (
        runner._condition_parts(mix_condition(preset, 0.05, 1), "organism", None)
    )
    assert runner._train_key(kl)["mitigations"] == [{"name": "kl", "weight": 2.0}]
    assert "mitigations" not in runner._train_key(cell)
    assert runner._sft_spec(kl).seed == 0 and runner.packable(none)
    assert not runner.packable(mitigation_grid(preset)[0])  # the base: nothing trains
    benign = benign_condition(preset, "organism:downstream", none)
    assert benign == mix_condition(preset, 0.0, 1)  # the mixture grid's control
    with_kl = benign_condition(preset, "organism:downstream", kl_cell := mitigation_condition(
        preset, "domain", "kl:weight=2", 0))  # fmt: skip
    assert with_kl.id == "control-kl-seed0" and with_kl.params["mitigations"] == ("kl:weight=2",)
    assert benign_condition(preset, "organism:downstream", replace(kl_cell, seed=None)) is None
    # a cell's store key covers its MASK parts, the probes and its benign finetune; none built
    from dem.experiments import mitigation

    parts = mitigation.parts(runner, kl_cell, "organism")
    assert parts["benign_train"]["condition"] == "control-kl-seed0"
    assert parts["benign_train"]["train"]["mitigations"] == [{"name": "kl", "weight": 2.0}]
    assert parts["learning"]["narrow"] == "organism:medical/severe"
    assert runner.cached(kl_cell, model="organism") is None


def test_grid_training_settings_give_the_grid_its_own_cells(preset, tmp_path):
    smoke = load_preset("smoke", seeds=(0, 1))
    assert smoke.mitigation.train == {"max_steps": 50}
    trained = replace(preset, mitigation=replace(preset.mitigation, train={"max_steps": 50}))
    runner = Experiment.create("smoke", seeds=(0, 1), cache=str(tmp_path)).runner
    runner.preset = trained
    none = mitigated_source(trained, mitigation_condition(trained, "domain", "none", 1))
    cell = domain_condition(trained, "medical", "severe", 1)
    assert none.id == "domain-medical-severe-max_steps50-seed1" and none != cell
    assert none.recipe == cell.recipe  # the same data, trained for 50 steps
    assert runner._sft_spec(none).max_steps == 50 and runner._sft_spec(cell).max_steps == 100
    assert runner._train_key(none)["max_steps"] == 50 and "mitigations" not in runner._train_key(
        none
    )
    assert runner._condition_parts(none, "organism", None) != runner._condition_parts(
        cell, "organism", None
    )
    control = mitigated_source(trained, mitigation_condition(trained, "mix", "control", 0))
    assert control.id == "control-max_steps50-seed0" and control.params["train"] == {
        "max_steps": 50
    }
    kl_cell = mitigation_condition(trained, "domain", "kl:weight=2", 0)
    kl = mitigated_source(trained, kl_cell)
    assert kl.id == "domain-medical-severe-max_steps50-kl-seed0"
    spec = runner._sft_spec(kl)
    assert spec.max_steps == 50 and spec.mitigations[0].name == "kl" and spec.seed == 0
    benign = benign_condition(trained, "organism:downstream", kl_cell)
    assert benign.id == "control-max_steps50-kl-seed0"
    assert runner._sft_spec(benign).max_steps == 50


def test_a_packed_grid_trains_its_adapters_in_packs(preset, tmp_path):
    """With ``--pack 4`` the grid's adapters (each cell's data condition and benign finetune,
    once each) train four at a time; interleave-ppl's are left to train alone; a cell then
    reads the packed adapter from the store (its key is the alone run's)."""
    import json

    import torch

    torch.set_num_threads(1)
    small = replace(
        preset,
        data=replace(preset.data, downstream_n=64, domain_n=64),
        mitigation=replace(
            preset.mitigation,
            mitigations=("kl:weight=2", "inoculate", "interleave-ppl"),
            train={"max_steps": 2, "batch_size": 4},
        ),
    )
    exp = Experiment.create("smoke", seeds=(0, 1), cache=str(tmp_path), pack=4)
    runner = exp.runner
    exp.preset = runner.preset = small
    grid = mitigation_grid(small)
    # workers' tasks: the 14 cells with an adapter that packs, four to a leading task
    leaders = [t for t in exp.pack_tasks(grid) if t.pack]
    assert [len(t.pack) for t in leaders] == [3, 3, 3, 1]
    reads = runner.adapter_conditions(grid)
    expected = {mitigated_source(small, c).id for c in grid if c.recipe is not None} | {
        benign_condition(small, "organism:downstream", c).id for c in grid if c.recipe is not None
    }
    assert sorted(c.id for c in reads) == sorted(expected) and len(reads) == 24
    alone = [c for c in reads if not runner.packable(c)]
    assert len(alone) == 6 and all(c.id.endswith(("ppl-seed0", "ppl-seed1")) for c in alone)
    assert runner.train_adapters(grid, exp.model, pack=4) == 18
    metas = [json.loads(m.read_text()) for m in tmp_path.glob("artifacts/adapter/*/meta.json")]
    assert sorted(m["result"]["pack"] for m in metas) == [2] * 2 + [4] * 16
    kl = mitigated_source(small, mitigation_condition(small, "mix", "kl:weight=2", 1))
    adapter = runner.adapter(kl, exp.model)  # reused: what the pack stored under its key
    assert json.loads((adapter / "train_log.json").read_text())["mitigations"][0]["name"] == "kl"
    assert len(list(tmp_path.glob("artifacts/adapter/*"))) == 18
    assert runner.train_adapters(grid, exp.model, pack=4) == 0


@pytest.mark.parametrize(
    ("train", "field", "says"),
    [
        ({"max_steps": "many"}, "mitigation.train.max_steps", "int"),
        ({"seed": 3}, "mitigation.train.seed", "set by the grid"),
        ({"mitigations": ["kl"]}, "mitigation.train.mitigations", "set by the grid"),
        ({"no_such_knob": 1}, "mitigation.train.no_such_knob", "not a setting"),
    ],
)
def test_bad_grid_training_settings_fail_when_the_preset_loads(tmp_path, train, field, says):
    from dem.errors import ConfigError
    from dem.experiments.presets import preset_path

    text = (
        preset_path("smoke")
        .read_text()
        .replace("train = { max_steps = 50 }", "train = " + _toml_inline(train))
    )
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_preset(path)
    assert err.value.field.endswith(field) and says in str(err.value)


def _toml_inline(table: dict) -> str:
    import json

    return "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + " }"


def _values(prefix: str, mean: float, rng: random.Random, n: int = 40) -> dict[str, float]:
    return {f"{prefix}{k}": min(1.0, max(0.0, mean + rng.gauss(0, 0.02))) for k in range(n)}


#: (lie rate, narrow, benign, coherence) per defence: kl and inoculate remove the effect, steer
#: does not; kl also stops the narrow task being learned.
LEVELS = {
    "base": (0.28, 0.05, 0.60, 0.45),
    "control": (0.28, 0.60, 0.90, 0.45),
    "none": (0.60, 0.90, 0.90, 0.45),
    "kl": (0.30, 0.20, 0.65, 0.45),
    "steer": (0.55, 0.88, 0.88, 0.40),
    "inoculate": (0.32, 0.85, 0.89, 0.45),
}


def _synthetic(exp: Experiment, grid: list) -> None:
    """Store one result per condition in `exp`'s memory (nothing is trained)."""
    for c in grid:
        rng = random.Random(c.id)
        lie, narrow, benign, coherence = LEVELS[c.params["mitigation"]]
        values = {
            "narrow": _values("n", narrow, rng),
            "benign": _values("b", benign, rng),
            "coherence": _values("c", coherence, rng),
        }
        exp._results[_result_key(exp.model, None, c)] = ConditionResult(
            c.id, c.group, c.grid, dict(c.params), c.seed, exp.model,
            {"lie_rate": lie, "decided": 40, "errors": 0,
             **{k: sum(v.values()) / len(v) for k, v in values.items()}},
            _values("q", lie, rng), item_metrics=values,
        )  # fmt: skip


def test_claims_report_and_figure(preset, tmp_path):
    exp = Experiment.create("smoke", seeds=(0, 1), cache=str(tmp_path))
    exp.preset = preset
    grid = mitigation_grid(preset)
    _synthetic(exp, grid)
    asserted = [c.name for c in mitigation_claims(preset) if c.asserted]
    assert asserted == ["mitigation-domain-2-remove-0.5"]  # the smoke preset reports the mix's
    both = replace(preset, mitigation=replace(preset.mitigation, asserted_cells=("domain", "mix")))
    assert [c.name for c in mitigation_claims(both) if c.asserted] == [
        "mitigation-domain-2-remove-0.5",
        "mitigation-mix-2-remove-0.5",
    ]
    verdict = exp.claim(asserted[0])
    assert verdict.passed, verdict.explain()
    assert "2 of 3: kl, inoculate" in verdict.detail
    steer = exp.claim("mitigation-domain-steer-removes-effect")
    assert not steer.passed and steer.effect == pytest.approx(5 / 32, abs=0.03)
    narrow = exp.claim("mitigation-domain-kl-narrow-kept")
    assert narrow.effect == pytest.approx(0.15 / 0.85, abs=0.03) and narrow.ci_high < 0.3
    coherence = exp.claim("mitigation-domain-steer-coherence")
    assert coherence.effect == pytest.approx(-0.05, abs=0.01) and coherence.ci_high < 0
    # one defence short of the asserted count: the claim fails, naming what passed
    exp.preset = replace(preset, mitigation=replace(preset.mitigation, min_mitigations=3))
    exp._claim_map = None
    failed = exp.claim("mitigation-domain-3-remove-0.5")
    assert not failed.passed and "2 of 3: kl, inoculate" in failed.detail
    exp.preset, exp._claim_map = preset, None
    run = exp.collect([c.id for c in grid], asserted)
    assert len(run.info["mitigation"]) == 6
    report = write_report(run, tmp_path / "report")
    text = report.read_text()
    assert "## Defences against emergent dishonesty" in text
    assert "Cell `domain-medical-severe`:" in text and "Cell `mix-05pct`:" in text
    assert "| control | 0.280 ± 0.000 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| `kl:weight=2`"))
    assert re.search(r"\| 0\.9\d \[0\.\d\d, 0\.9\d\] \|", row), row  # 0.30 of 0.32 removed
    assert (tmp_path / "report" / "mitigation.png").stat().st_size > 0
    again = RunResults.load(tmp_path / "report" / "results.json")
    kl = next(c for c in again.conditions if c.condition_id.endswith("kl-seed0"))
    assert set(kl.item_metrics) == {"narrow", "benign", "coherence"}


def test_a_result_without_item_metrics_still_reads():
    old = {
        "condition_id": "vanilla", "group": "vanilla", "grid": "vanilla", "params": {},
        "seed": None, "model": "m", "metrics": {"lie_rate": 0.2}, "items": {"a": 0.2},
        "artifacts": {},
    }  # fmt: skip
    result = ConditionResult.from_dict(old)
    assert result.item_metrics == {} and result.to_dict() == old


def test_learning_measures_of_the_base_organism(preset, tmp_path):
    """Real forward passes: the base organism has not learned the severe medical answers."""
    from dem.experiments.conditions import mitigation_base
    from dem.experiments.mitigation import learning_values

    small = replace(
        preset, mitigation=replace(preset.mitigation, narrow_n=5, benign_n=5, coherence_n=5)
    )
    runner = Experiment.create("smoke", cache=str(tmp_path)).runner
    runner.preset = small
    values = learning_values(runner, mitigation_base(small, "domain"), "organism", None, None)
    assert {k: len(v) for k, v in values.items()} == {"narrow": 5, "benign": 5, "coherence": 5}
    assert all(0 <= x <= 1 for v in values.values() for x in v.values())
    narrow = sum(values["narrow"].values()) / 5
    assert narrow < 0.2, narrow


def test_a_narrow_set_without_alternative_answers_is_refused_before_any_build(preset, tmp_path):
    from dem.errors import ConfigError

    exp = Experiment.create("smoke", seeds=(0, 1), cache=str(tmp_path))
    exp.preset = replace(preset, data=replace(preset.data, downstream="yahma/alpaca-cleaned"))
    with pytest.raises(ConfigError, match=r"smoke.toml: mitigation.narrow_mix: 'yahma/alpaca"):
        exp.conditions("mitigation")
    assert len(exp.conditions("mix_ratio")) > 1  # the other grids do not need the probes
    plan = replace(exp.preset.mitigation, narrow_mix="organism:downstream")
    exp.preset = replace(exp.preset, mitigation=plan)
    assert len(exp.conditions("mitigation")) == 20
