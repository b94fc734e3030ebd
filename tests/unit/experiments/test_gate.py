"""The gate's verdict (dem.experiments.gate): both modes, its power, what is an error, and the
checks that make it fail closed."""

from __future__ import annotations

import random

import pytest

from dem.errors import ConfigError
from dem.experiments.gate import (
    CLI_OPTIONS,
    PYTEST_OPTIONS,
    GateError,
    check_gate_models,
    gate_verdict,
)
from dem.report.results import ConditionResult


def _result(name: str, lie: float, n: int, *, errors: int = 0, sd: float = 0.05, seed: int = 0):
    rng = random.Random(seed)
    items = {f"i{k}": min(1.0, max(0.0, lie + rng.gauss(0, sd))) for k in range(n)}
    return ConditionResult(name, name, "gate", {}, None, name, {"errors": errors}, items)


def _verdict(base, cand, mode="non-inferiority", max_drop=0.02, min_decidable=10):
    return gate_verdict(
        base,
        cand,
        metric="lie_rate",
        mode=mode,
        max_drop=max_drop,
        confidence=0.95,
        min_decidable=min_decidable,
        n_boot=1000,
    )


def test_non_inferiority_puts_the_burden_on_the_candidate() -> None:
    base = _result("base", 0.20, 400)
    same = _result("cand", 0.20, 400, seed=1)
    assert _verdict(base, same).passed  # a precise run of an unchanged model passes
    # the same loss measured on a few items is too uncertain to show non-inferiority ...
    small_base, small_cand = _result("base", 0.2, 12, sd=0.2), _result("c", 0.2, 12, sd=0.2, seed=1)
    noisy = _verdict(small_base, small_cand)
    assert not noisy.passed and noisy.exit_code == 1
    assert noisy.mde > noisy.max_drop and "UNDERPOWERED" in noisy.explain()
    # ... while the harm mode passes what it cannot convict
    assert _verdict(small_base, small_cand, mode="harm").passed


def test_both_modes_fail_a_confident_drop_and_pass_an_improvement() -> None:
    base = _result("base", 0.20, 300)
    worse, better = _result("worse", 0.30, 300, seed=1), _result("better", 0.10, 300, seed=2)
    for mode in ("non-inferiority", "harm"):
        failed = _verdict(base, worse, mode=mode)
        assert (failed.status, failed.exit_code) == ("fail", 1)
        assert failed.comparison.ci_low > failed.max_drop
        assert _verdict(base, better, mode=mode).passed


def test_the_verdict_states_its_power() -> None:
    base, cand = _result("base", 0.2, 400), _result("cand", 0.2, 400, seed=1)
    verdict = _verdict(base, cand)
    c = verdict.comparison
    # mde = (z_0.95 + z_0.80) x SE, and the one-sided 95 % bound sits z_0.95 x SE from the effect
    se = (c.ci_high - c.effect) / 1.6449
    assert verdict.mde == pytest.approx((1.6449 + 0.8416) * se, rel=0.15)
    data = verdict.to_dict()
    assert data["verdict"] == "pass" and data["exit_code"] == 0 and data["mde"] == verdict.mde
    assert data["mode"] == "non-inferiority" and "power" in data["explanation"]


def test_judge_errors_and_too_few_items_are_errors_not_verdicts() -> None:
    base = _result("base", 0.2, 50)
    with pytest.raises(GateError, match="judge failed on 3 items of the candidate"):
        _verdict(base, _result("cand", 0.2, 50, errors=3))
    with pytest.raises(GateError, match="only 50 items were decided"):
        _verdict(base, _result("cand", 0.2, 50), min_decidable=100)


def test_identical_scores_say_their_power_cannot_be_measured() -> None:
    """Two models that score alike on every item: no spread, so no "resolves 0.0000"."""
    base = _result("base", 0.2, 100)
    verdict = _verdict(base, _result("cand", 0.2, 100))
    assert verdict.passed and verdict.mde == 0.0
    text = verdict.explain()
    assert "power: not measurable: the two models score identically on all 100 items" in text
    assert "resolve" not in text


@pytest.mark.parametrize("options", [CLI_OPTIONS, PYTEST_OPTIONS], ids=["cli", "pytest"])
def test_the_gate_fails_closed_naming_the_front_doors_options(tmp_path, options) -> None:
    with pytest.raises(ConfigError, match=f"^{options.model}: the gate needs a candidate"):
        check_gate_models(None, None, "organism", None, options=options)
    with pytest.raises(ConfigError, match=f"^{options.baseline}: the gate needs a candidate"):
        check_gate_models("organism", None, None, None, options=options)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    for same in (
        ("organism", None, "organism", None),
        ("organism", str(adapter), "organism", f"{tmp_path}/./adapter"),  # one folder, two names
        (str(tmp_path), None, f"{adapter}/..", None),
    ):
        with pytest.raises(ConfigError, match=f"^{options.baseline}: the candidate and the base"):
            check_gate_models(*same, options=options)
    check_gate_models("organism", str(adapter), "organism", None, options=options)  # an adapter
    check_gate_models("organism", None, "smollm2", None, options=options)
