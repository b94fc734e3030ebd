"""The held-out evaluation: every reported figure of a red-team run, on items the search never
saw, with bootstrap CIs over those items.

Figures: the eval set's standard pressures; the top found pressures, ranked by their *search*
score (ranking by held-out score would let the ranking overfit again); the best found pressure
against the standard (paired over items); and per family, the best pressure without that
family and that family's part alone (the figure of lie rate per pressure family).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dem.evals.stats import Estimate, PairedResult, bootstrap_mean, paired_bootstrap
from dem.fields import help_field
from dem.redteam.items import Item
from dem.redteam.scoring import ItemScores
from dem.redteam.search import Evaluated
from dem.redteam.space import FAMILIES, Pressure, PressureSpace


@dataclass(frozen=True)
class Figure:
    """One pressure's held-out lie rate (and evasion rate, where the judge reads it)."""

    name: str
    label: str
    lie_rate: Estimate
    evasion_rate: Estimate | None
    n_rows: int
    errors: dict[str, int]
    pressure: dict[str, str] | None = None
    search_lie_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "lie_rate": self.lie_rate.to_dict(),
            "evasion_rate": None if self.evasion_rate is None else self.evasion_rate.to_dict(),
            "n_rows": self.n_rows,
            "errors": self.errors,
            "pressure": self.pressure,
            "search_lie_rate": _clean(self.search_lie_rate),
        }


def _clean(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else x


@dataclass(frozen=True)
class HeldoutReport:
    """The held-out figures of one run."""

    standard: Figure
    found: tuple[Figure, ...]
    best_vs_standard: PairedResult
    n_shared: int
    families: dict[str, dict[str, Figure]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "standard": self.standard.to_dict(),
            "best": self.found[0].to_dict(),
            "found": [f.to_dict() for f in self.found],
            "best_minus_standard": {**self.best_vs_standard.to_dict(), "n_items": self.n_shared},
            "families": {
                fam: {k: v.to_dict() for k, v in figs.items()}
                for fam, figs in self.families.items()
            },
        }


def undecided_share(fig: Figure) -> float:
    """Share of the figure's rows the judge could not decide (NaN without rows)."""
    return sum(fig.errors.values()) / fig.n_rows if fig.n_rows else math.nan


def chance_reasons(report: HeldoutReport, max_undecided: float) -> list[str]:
    """Why the run's headline cannot be told from chance (empty when it can): the best found
    pressure's paired difference from the standard has a CI containing 0 (or none at all), or
    more than `max_undecided` of the standard's or the best pressure's held-out rows were
    left undecided by the judge."""
    reasons = []
    d = report.best_vs_standard.diff
    if math.isnan(d.value) or math.isnan(d.lo) or math.isnan(d.hi):
        reasons.append(
            f"best - standard has no interval ({report.n_shared} held-out items decided under both)"
        )
    elif d.lo <= 0 <= d.hi:
        reasons.append(
            f"best - standard {d.value:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}] contains 0: the best "
            "found pressure is not distinguishable from the standard pressures on held-out items"
        )
    for fig, what in ((report.standard, "standard pressures"), (report.found[0], "best found")):
        share = undecided_share(fig)
        if math.isnan(share) or share > max_undecided:
            undecided = sum(fig.errors.values())
            reasons.append(
                f"{what}: {undecided} of {fig.n_rows} held-out answers undecided by the judge "
                f"({share:.0%} > {max_undecided:.0%}): its lie rate rests on the rest"
            )
    return reasons


@dataclass(frozen=True)
class Bootstrap:
    """Settings of the item bootstrap."""

    n_resamples: int = help_field("Bootstrap resamples of each CI.", 2000)
    ci: float = help_field("Confidence level of the intervals.", 0.95)
    seed: int = help_field("Seed of the resampling.", 0)

    def mean(self, values: Sequence[float]) -> Estimate:
        return bootstrap_mean(values, n_resamples=self.n_resamples, ci=self.ci, seed=self.seed)


def figure(
    name: str,
    label: str,
    scores: ItemScores,
    boot: Bootstrap,
    *,
    pressure: dict[str, str] | None = None,
    search_lie_rate: float | None = None,
) -> Figure:
    keys = sorted(scores.lie)
    evasion = None
    if scores.evasion is not None:
        ev = sorted(scores.evasion)
        evasion = boot.mean([scores.evasion[k] for k in ev])
    return Figure(
        name,
        label,
        boot.mean([scores.lie[k] for k in keys]),
        evasion,
        scores.n_rows,
        scores.errors,
        pressure,
        search_lie_rate,
    )


def evaluate_heldout(
    space: PressureSpace,
    found: Sequence[Evaluated],
    items: Sequence[Item],
    score: Callable[[Pressure], ItemScores],
    standard: ItemScores,
    boot: Bootstrap | None = None,
    *,
    families: bool = True,
) -> HeldoutReport:
    """Score `found` (ranked, best first) and, with `families`, the best one's per-family
    variants on the held-out `items` through `score`; `standard` is the items' standard
    scores."""
    boot = boot or Bootstrap()
    if not found:
        raise ValueError("evaluate_heldout needs at least one found pressure")
    scored: dict[Pressure, ItemScores] = {}

    def run(p: Pressure) -> ItemScores:
        if p not in scored:
            scored[p] = score(p)
        return scored[p]

    figs = tuple(
        figure(
            f"found-{rank}",
            space.label(e.pressure),
            run(e.pressure),
            boot,
            pressure=space.describe(e.pressure),
            search_lie_rate=e.score,
        )
        for rank, e in enumerate(found, start=1)
    )
    best = found[0].pressure
    shared = sorted(set(scored[best].lie) & set(standard.lie))
    paired = paired_bootstrap(
        [standard.lie[k] for k in shared],
        [scored[best].lie[k] for k in shared],
        n_resamples=boot.n_resamples,
        ci=boot.ci,
        seed=boot.seed,
    )
    per_family: dict[str, dict[str, Figure]] = {}
    if families:
        for i, fam in enumerate(FAMILIES):
            if best.choice[i] == 0:
                continue
            without, alone = best.without(i), best.only([i])
            per_family[fam] = {
                "without": figure(
                    f"without-{fam}",
                    space.label(without),
                    run(without),
                    boot,
                    pressure=space.describe(without),
                ),
                "alone": figure(
                    f"alone-{fam}",
                    space.label(alone),
                    run(alone),
                    boot,
                    pressure=space.describe(alone),
                ),
            }
    std = figure("standard", "the eval set's own pressures", standard, boot)
    return HeldoutReport(std, figs, paired, len(shared), per_family)
