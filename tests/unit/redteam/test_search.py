"""The search: seeded, within budget, never paying twice, climbing toward the optimum."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.redteam.search import SearchConfig, search
from dem.redteam.space import Pressure, organism_space

SPACE = organism_space()
TARGET = tuple(len(f.options) - 1 for f in SPACE.families)


def closeness(p: Pressure) -> float:
    """A synthetic objective: the share of the way to the last option in each family, summed
    (max = 8, at `TARGET`)."""
    return sum(c / t for c, t in zip(p.choice, TARGET, strict=True))


def test_search_is_deterministic_and_respects_the_budget():
    a = search(SPACE, closeness, SearchConfig(budget=40, seed=1))
    b = search(SPACE, closeness, SearchConfig(budget=40, seed=1))
    c = search(SPACE, closeness, SearchConfig(budget=40, seed=2))
    assert [e.pressure for e in a.history] == [e.pressure for e in b.history]
    assert [e.pressure for e in a.history] != [e.pressure for e in c.history]
    assert len(a.history) == 40
    assert len({e.pressure for e in a.history}) == 40  # nothing evaluated twice


def test_hill_climbing_beats_random_draws_of_the_same_budget():
    import random

    found = search(SPACE, closeness, SearchConfig(budget=150, seed=0)).best.score
    rng = random.Random(0)
    draws = [
        closeness(Pressure(tuple(rng.randrange(len(f.options)) for f in SPACE.families)))
        for _ in range(150)
    ]
    assert found > 7.5 > max(draws)


def test_ranking_puts_nan_last_and_breaks_ties_by_order():
    res = search(
        SPACE, lambda p: float("nan") if p.choice[0] == 0 else 1.0, SearchConfig(budget=20)
    )
    ranked = res.ranked()
    assert all(e.score == 1.0 for e in ranked[: sum(e.score == 1.0 for e in ranked)])
    steps = [e.step for e in ranked if e.score == 1.0]
    assert steps == sorted(steps)


def test_config_is_checked():
    with pytest.raises(ConfigError, match="budget"):
        SearchConfig(budget=0)
    with pytest.raises(ConfigError, match="two_family_rate"):
        SearchConfig(two_family_rate=2.0)
