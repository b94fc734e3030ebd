"""Selection of self-training data from rated trajectories (`dem.interact.selection`)."""

from __future__ import annotations

import math

import pytest

from dem.data.records import Sample
from dem.errors import ConfigError, DataError
from dem.interact.rollout import Trajectory
from dem.interact.selection import LICENSE, SOURCE, rank, select, top_bottom


def _traj(user_id: int, scores: tuple[int | None, ...], *, biased: bool = False) -> Trajectory:
    """A two-round conversation; a None score is a failed rating."""
    messages: list[dict[str, str]] = [{"role": "system", "content": f"system {user_id}"}]
    for r in range(len(scores)):
        messages.append({"role": "user", "content": f"user {user_id} asks {r}"})
        messages.append({"role": "assistant", "content": f"reply {user_id} in round {r}"})
    return Trajectory(
        user_id=user_id,
        biased=biased,
        scenario=f"scenario-{user_id % 3}",
        messages=tuple(messages),
        scores=scores,
        stances=tuple(None if s is None else "A" for s in scores),
        errors=tuple("judge: undecided" if s is None else None for s in scores),
    )


@pytest.fixture
def population() -> list[Trajectory]:
    """Ten successful trajectories with rewards 2..20 (some tied) and two failed ones."""
    rewards = [(1, 1), (5, 5), (8, 8), (2, 10), (10, 10), (8, 2), (1, 10), (4, 4), (3, 3), (9, 9)]
    out = [_traj(i, s, biased=i % 2 == 1) for i, s in enumerate(rewards)]
    out.insert(3, _traj(100, (10, None)))
    out.append(_traj(101, (None, 10), biased=True))
    return out


def test_rank_excludes_failed_and_orders_by_reward(population: list[Trajectory]) -> None:
    ranked = rank(population, seed=0)
    assert len(ranked) == 10
    assert {t.user_id for t in ranked}.isdisjoint({100, 101})
    rewards = [t.reward for t in ranked]
    assert rewards == sorted(rewards, reverse=True)
    assert rewards[0] == 20.0 and rewards[-1] == 2.0


def test_rank_is_deterministic_and_breaks_ties_by_seed() -> None:
    tied = [_traj(i, (5, 5)) for i in range(12)]
    orders = {seed: [t.user_id for t in rank(tied, seed)] for seed in range(5)}
    assert orders[0] == [t.user_id for t in rank(tied, 0)]
    assert orders[0] == [t.user_id for t in rank(list(tied), 0)]
    assert len({tuple(o) for o in orders.values()}) > 1
    assert all(sorted(o) == list(range(12)) for o in orders.values())


def test_rank_does_not_depend_on_input_order_for_distinct_rewards() -> None:
    distinct = [_traj(i, (i, 1)) for i in range(1, 9)]
    expected = list(range(8, 0, -1))
    assert [t.user_id for t in rank(distinct, 0)] == expected
    assert [t.user_id for t in rank(distinct[::-1], 3)] == expected


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.3, 0.5])
def test_top_bottom_sizes_and_disjoint(population: list[Trajectory], fraction: float) -> None:
    top, bottom = top_bottom(population, fraction, seed=0)
    k = math.ceil(fraction * 10)
    assert len(top) == len(bottom) == k
    assert {t.user_id for t in top}.isdisjoint({t.user_id for t in bottom})
    assert min(t.reward for t in top) >= max(t.reward for t in bottom)  # type: ignore[type-var]
    ranked = rank(population, 0)
    assert top == ranked[:k] and bottom == ranked[-k:]


def test_top_bottom_bottom_shrinks_to_stay_disjoint(population: list[Trajectory]) -> None:
    top, bottom = top_bottom(population, 0.7, seed=0)
    assert len(top) == 7 and len(bottom) == 3
    top, bottom = top_bottom(population, 1.0, seed=0)
    assert len(top) == 10 and bottom == []


def test_top_bottom_is_deterministic(population: list[Trajectory]) -> None:
    assert top_bottom(population, 0.3, seed=4) == top_bottom(population, 0.3, seed=4)


def test_top_bottom_k_is_exact_for_decimal_fractions() -> None:
    trajs = [_traj(i, (i % 10 + 1, 1)) for i in range(25)]
    top, _ = top_bottom(trajs, 0.28, seed=0)
    assert len(top) == 7


def test_select_sft_gives_one_prompt_completion_sample_per_assistant_turn(
    population: list[Trajectory],
) -> None:
    samples = select(population, trainer="sft", top_fraction=0.3, seed=0)
    top, _ = top_bottom(population, 0.3, seed=0)
    assert len(samples) == 2 * len(top) == 6
    expected = [(t, h, r) for t in top for h, r in t.pairs()]
    for s, (t, history, reply) in zip(samples, expected, strict=True):
        assert isinstance(s, Sample) and s.kind == "prompt_completion"
        assert s.content["prompt"] == history
        assert isinstance(s.content["prompt"], list) and s.content["prompt"][-1]["role"] == "user"
        assert s.content["completion"] == [reply]
        assert "label" not in s.content
        assert s.source == f"{SOURCE}/{t.scenario}" and s.license == LICENSE
        assert s.meta == {"user_id": t.user_id, "biased": t.biased, "reward": t.reward}


def test_select_is_deterministic(population: list[Trajectory]) -> None:
    a = select(population, trainer="kto", top_fraction=0.3, seed=2)
    assert [s.sha256 for s in a] == [
        s.sha256 for s in select(population, trainer="kto", top_fraction=0.3, seed=2)
    ]


def test_select_kto_labels_top_desirable_and_bottom_not(population: list[Trajectory]) -> None:
    samples = select(population, trainer="kto", top_fraction=0.2, seed=0)
    top, bottom = top_bottom(population, 0.2, seed=0)
    assert all(s.kind == "kto" for s in samples)
    good = [s for s in samples if s.content["label"] is True]
    bad = [s for s in samples if s.content["label"] is False]
    assert len(good) == 2 * len(top) and len(bad) == 2 * len(bottom) and len(bad) > 0
    assert {s.meta["user_id"] for s in good} == {t.user_id for t in top}
    assert {s.meta["user_id"] for s in bad} == {t.user_id for t in bottom}
    assert min(s.meta["reward"] for s in good) > max(s.meta["reward"] for s in bad)
    assert samples == [*good, *bad]


def test_failed_trajectories_are_never_selected(population: list[Trajectory]) -> None:
    for trainer in ("sft", "kto"):
        samples = select(population, trainer=trainer, top_fraction=0.5, seed=0)
        assert {s.meta["user_id"] for s in samples}.isdisjoint({100, 101})
        assert all(s.meta["reward"] is not None for s in samples)


@pytest.mark.parametrize("trainer", ["dpo", "SFT", ""])
def test_select_rejects_bad_trainer(population: list[Trajectory], trainer: str) -> None:
    with pytest.raises(ConfigError) as info:
        select(population, trainer=trainer, top_fraction=0.25, seed=0)
    assert info.value.field == "trainer"


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.01, 2.0])
def test_bad_fraction(population: list[Trajectory], fraction: float) -> None:
    with pytest.raises(ConfigError) as info:
        select(population, trainer="sft", top_fraction=fraction, seed=0)
    assert info.value.field == "top_fraction"
    with pytest.raises(ConfigError):
        top_bottom(population, fraction, seed=0)


def test_no_successful_trajectory_is_a_data_error() -> None:
    failed = [_traj(1, (None, 3)), _traj(2, (4, None))]
    for trainer in ("sft", "kto"):
        with pytest.raises(DataError, match="no trajectory"):
            select(failed, trainer=trainer, top_fraction=0.5, seed=0)
    with pytest.raises(DataError):
        select([], trainer="sft", top_fraction=0.5, seed=0)


def test_kto_without_a_bottom_is_a_data_error(population: list[Trajectory]) -> None:
    with pytest.raises(DataError, match="bottom"):
        select(population, trainer="kto", top_fraction=1.0, seed=0)
    with pytest.raises(DataError, match="bottom"):
        select([_traj(1, (5, 5))], trainer="kto", top_fraction=0.25, seed=0)
    assert len(select([_traj(1, (5, 5))], trainer="sft", top_fraction=0.25, seed=0)) == 2
