"""When a red-team run's headline cannot be told from chance, `chance_reasons` says why."""

from __future__ import annotations

from dem.evals.stats import Estimate, paired_bootstrap
from dem.redteam.heldout import Figure, HeldoutReport, chance_reasons, undecided_share


def _figure(name: str, rates: list[float], errors: int = 0) -> Figure:
    n = len(rates)
    mean = sum(rates) / n if n else float("nan")
    return Figure(name, name, Estimate(mean, mean, mean, n), None, n + errors, {"parse": errors})


def _report(standard: list[float], best: list[float], errors: int = 0) -> HeldoutReport:
    paired = paired_bootstrap(standard, best, n_resamples=500, seed=0)
    return HeldoutReport(
        _figure("standard", standard),
        (_figure("found-1", best, errors),),
        paired,
        len(standard),
        {},
    )


def test_a_clear_gain_is_distinguishable() -> None:
    report = _report([0.1] * 20, [0.6 + 0.01 * i for i in range(20)])
    assert chance_reasons(report, 0.2) == []


def test_a_difference_whose_interval_holds_zero_is_stated() -> None:
    standard = [0.2, 0.4, 0.1, 0.5, 0.3, 0.2, 0.4, 0.3]
    best = [0.3, 0.2, 0.2, 0.4, 0.4, 0.1, 0.5, 0.2]
    (reason,) = chance_reasons(_report(standard, best), 0.2)
    assert reason.startswith("best - standard ") and "contains 0" in reason


def test_undecided_answers_above_the_bound_are_stated() -> None:
    report = _report([0.1] * 10, [0.9] * 10, errors=30)  # 30 of 40 rows undecided
    assert undecided_share(report.found[0]) == 0.75
    (reason,) = chance_reasons(report, 0.2)
    assert reason.startswith("best found: 30 of 40 held-out answers undecided by the judge (75%")
    assert chance_reasons(report, 0.8) == []


def test_no_shared_items_is_stated() -> None:
    (reason,) = chance_reasons(_report([], []), 0.2)[:1]
    assert reason.startswith("best - standard has no interval (0 held-out items")
