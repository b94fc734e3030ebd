"""A seeded search for the pressures that make a model lie: random restarts plus hill climbing.

Each restart draws a random pressure (one option per family, "none" included) and climbs: a
mutation changes one family's option (two with probability `two_family_rate`) and is kept when
it scores strictly higher; after `patience` mutations without a gain the search restarts. The
budget counts evaluated pressures; a pressure already scored is never paid for again. The
objective is any function of a pressure (the search set's lies per item, in `dem.redteam.run`),
so the search never sees held-out items.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from dem.fields import help_field
from dem.redteam.space import Pressure, PressureSpace
from dem.validation import check_fields, check_fraction, check_int


@dataclass(frozen=True)
class SearchConfig:
    """How the pressure search spends its budget."""

    budget: int = help_field("Pressures to evaluate on the search set (the search's cost).", 100)
    patience: int = help_field("Mutations without a gain before a random restart.", 8)
    two_family_rate: float = help_field(
        "Probability that a mutation changes two families instead of one.", 0.3
    )
    seed: int = help_field("Seed of the restarts and mutations.", 0)

    def __post_init__(self) -> None:
        check_fields(self)
        check_int("budget", self.budget, minimum=1)
        check_int("patience", self.patience, minimum=1)
        check_fraction("two_family_rate", self.two_family_rate)


@dataclass(frozen=True)
class Evaluated:
    """One scored pressure: its search-set score, the restart it came from, its order."""

    pressure: Pressure
    score: float
    restart: int
    step: int


@dataclass(frozen=True)
class SearchResult:
    """Every evaluated pressure in order, and the restarts used."""

    history: tuple[Evaluated, ...]
    restarts: int

    def ranked(self) -> list[Evaluated]:
        """Best search score first (NaN scores last; ties by evaluation order)."""
        return sorted(
            self.history,
            key=lambda e: (math.isnan(e.score), -e.score if not math.isnan(e.score) else 0, e.step),
        )

    @property
    def best(self) -> Evaluated:
        return self.ranked()[0]


class _Budget(Exception):
    """The budget is spent."""


def _random_pressure(space: PressureSpace, rng: random.Random) -> Pressure:
    return Pressure(tuple(rng.randrange(len(f.options)) for f in space.families))


def _mutate(space: PressureSpace, p: Pressure, rng: random.Random, two_rate: float) -> Pressure:
    choice = list(p.choice)
    n = 2 if rng.random() < two_rate else 1
    for fam in rng.sample(range(len(space.families)), n):
        options = len(space.families[fam].options)
        choice[fam] = rng.choice([o for o in range(options) if o != choice[fam]])
    return Pressure(tuple(choice))


def search(
    space: PressureSpace,
    objective: Callable[[Pressure], float],
    config: SearchConfig | None = None,
    *,
    progress: bool = False,
) -> SearchResult:
    """Maximise `objective` over `space` within the budget (deterministic in the seed)."""
    from tqdm.auto import tqdm

    config = config or SearchConfig()
    rng = random.Random(f"redteam-search-{config.seed}")
    budget = min(config.budget, space.size)
    scores: dict[Pressure, float] = {}
    history: list[Evaluated] = []
    bar = tqdm(total=budget, desc="search", disable=not progress, file=sys.stderr, leave=False)
    restart = -1

    def evaluate(p: Pressure) -> float:
        if p in scores:
            return scores[p]
        if len(history) >= budget:
            raise _Budget
        value = float(objective(p))
        scores[p] = value
        history.append(Evaluated(p, value, restart, len(history)))
        bar.update(1)
        return value

    def better(a: float, b: float) -> bool:
        return not math.isnan(a) and (math.isnan(b) or a > b)

    proposals = 0
    try:
        while len(history) < budget and proposals < 50 * budget:
            restart += 1
            current = _random_pressure(space, rng)
            proposals += 1
            value = evaluate(current)
            stale = 0
            while stale < config.patience and proposals < 50 * budget:
                candidate = _mutate(space, current, rng, config.two_family_rate)
                proposals += 1
                got = evaluate(candidate)
                if better(got, value):
                    current, value, stale = candidate, got, 0
                else:
                    stale += 1
    except _Budget:
        pass
    finally:
        bar.close()
    return SearchResult(tuple(history), restart + 1)
