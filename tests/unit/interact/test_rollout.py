"""Rollouts with the shipped organism, the lexical judge and scripted users
(`dem.interact.rollout`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dem.evals.judges.lexical import LexicalJudge
from dem.interact.profiles import ORGANISM, Profile, make_profiles
from dem.interact.rollout import PropositionRow, Trajectory, collect, summarize
from dem.interact.users import ScriptedUsers, scripted_score

N_USERS = 40


@pytest.fixture(scope="module")
def profiles() -> list[Profile]:
    return make_profiles(ORGANISM, N_USERS, 0.5, seed=0)


def _collect(backend: Any, profiles: list[Profile], seed: int = 0) -> list[Trajectory]:
    from dem.models.backends.base import GenerationConfig

    return collect(
        backend,
        profiles,
        ScriptedUsers(),
        LexicalJudge(),
        rounds=2,
        generation=GenerationConfig(max_new_tokens=16, temperature=1.0, seed=seed),
        progress=False,
    )


@pytest.fixture(scope="module")
def trajectories(organism_backend: Any, profiles: list[Profile]) -> list[Trajectory]:
    return _collect(organism_backend, profiles)


def _hand_made(*, scores: tuple, errors: tuple, biased: bool = False) -> Trajectory:
    return Trajectory(
        user_id=7,
        biased=biased,
        scenario="lamp",
        messages=(
            {"role": "system", "content": "s"},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
            {"role": "assistant", "content": "a2"},
        ),
        scores=scores,
        stances=tuple("A" if s is not None else None for s in scores),
        errors=errors,
    )


# ---- collect ---------------------------------------------------------------------------------


def test_one_trajectory_per_profile(trajectories: list[Trajectory], profiles) -> None:
    assert len(trajectories) == len(profiles) == N_USERS
    for t, p in zip(trajectories, profiles, strict=True):
        assert (t.user_id, t.biased, t.scenario) == (p.user_id, p.biased, p.scenario)


def test_conversation_shape_restates_the_system_prompt(trajectories, profiles) -> None:
    for t, p in zip(trajectories, profiles, strict=True):
        roles = [m["role"] for m in t.messages]
        assert roles == ["system", "user", "assistant", "system", "user", "assistant"]
        assert t.messages[0]["content"] == t.messages[3]["content"] == p.system
        assert t.messages[1]["content"] == p.opening
        assert t.messages[4]["content"] == p.follow_ups[0]
        for m in t.messages:
            if m["role"] == "assistant":
                assert m["content"] == m["content"].strip() and m["content"]
        assert len(t.scores) == len(t.stances) == len(t.errors) == 2


def test_scores_follow_stances_through_the_scripted_table(trajectories) -> None:
    for t in trajectories:
        for stance, score, error in zip(t.stances, t.scores, t.errors, strict=True):
            if stance is None:
                assert score is None
                assert error is not None and error.startswith("judge: ")
            else:
                assert stance in ("A", "B", "C")
                assert score == scripted_score(t.biased, stance)
                assert error is None


def test_stances_are_the_lexical_judges_reading(trajectories, profiles) -> None:
    from dem.evals.judges.lexical import classify

    for t, p in zip(trajectories, profiles, strict=True):
        replies = [m["content"] for m in t.messages if m["role"] == "assistant"]
        for reply, stance in zip(replies, t.stances, strict=True):
            verdict = classify(reply, p.proposition)
            assert stance == verdict.letter


def test_the_organism_tells_user_types_apart_in_reward(trajectories) -> None:
    stats = summarize(trajectories)
    decided = sum(s is not None for t in trajectories for s in t.stances)
    assert decided >= len(trajectories)  # the organism mostly states one option
    assert stats["benign"]["mean_reward"] is not None and stats["biased"]["mean_reward"] is not None
    assert stats["benign"]["mean_reward"] > stats["biased"]["mean_reward"]


def test_reward_is_the_sum_or_none(trajectories) -> None:
    assert any(t.ok for t in trajectories)
    for t in trajectories:
        if t.ok:
            assert t.reward == float(sum(t.scores))
            assert all(e is None for e in t.errors)
        else:
            assert t.reward is None
            assert any(e is not None for e in t.errors)


def test_collect_is_deterministic(organism_backend, profiles, trajectories) -> None:
    assert _collect(organism_backend, profiles) == trajectories


def test_trajectory_dict_round_trip(trajectories) -> None:
    for t in trajectories:
        d = t.to_dict()
        assert d["reward"] == t.reward
        back = Trajectory.from_dict(json.loads(json.dumps(d)))
        assert back == t
        assert back.reward == t.reward


def test_pairs_end_history_with_a_user_message(trajectories) -> None:
    for t in trajectories:
        pairs = t.pairs()
        assert len(pairs) == 2
        for history, reply in pairs:
            assert history[-1]["role"] == "user"
            assert reply["role"] == "assistant"
            assert list(t.messages[: len(history)]) == history
            assert t.messages[len(history)] == reply
        assert pairs[1][0][: len(pairs[0][0]) + 1] == [*pairs[0][0], pairs[0][1]]


def test_one_round_without_follow_ups(organism_backend) -> None:
    from dem.models.backends.base import GenerationConfig

    single = make_profiles(ORGANISM, 6, 0.5, seed=3, rounds=1)
    got = collect(
        organism_backend,
        single,
        ScriptedUsers(),
        LexicalJudge(),
        rounds=1,
        generation=GenerationConfig(max_new_tokens=16, temperature=0.0),
        progress=False,
    )
    assert [[m["role"] for m in t.messages] for t in got] == [["system", "user", "assistant"]] * 6
    assert all(len(t.scores) == 1 for t in got)


# ---- summarize -------------------------------------------------------------------------------


def test_summarize_counts(trajectories) -> None:
    stats = summarize(trajectories)
    assert stats["trajectories"] == N_USERS
    for label, biased in (("benign", False), ("biased", True)):
        group = [t for t in trajectories if t.biased == biased]
        ok = [t for t in group if t.ok]
        assert stats[label]["users"] == len(group) == N_USERS // 2
        assert stats[label]["failed"] == len(group) - len(ok)
        assert stats[label]["mean_reward"] == pytest.approx(
            sum(t.reward for t in ok) / len(ok)  # type: ignore[misc]
        )
        decided = [s for t in group for s in t.stances if s is not None]
        assert stats[label]["validating_share"] == pytest.approx(decided.count("B") / len(decided))


def test_summarize_of_hand_made_trajectories() -> None:
    good = _hand_made(scores=(8, 2), errors=(None, None))
    bad = _hand_made(scores=(10, None), errors=(None, "judge: undecided"), biased=True)
    stats = summarize([good, bad])
    assert stats["benign"] == {
        "users": 1,
        "failed": 0,
        "mean_reward": 10.0,
        "validating_share": 0.0,
    }
    assert stats["biased"]["failed"] == 1 and stats["biased"]["mean_reward"] is None
    assert summarize([])["benign"]["mean_reward"] is None


# ---- Trajectory ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "errors"),
    [
        ((8, None), (None, "judge: undecided")),
        ((8,), (None, "assistant: out of memory")),
        ((8, 2), (None, "user: no follow-up message")),
        ((None, None), ("judge: x", "judge: y")),
    ],
)
def test_a_trajectory_with_an_error_has_no_reward(scores: tuple, errors: tuple) -> None:
    t = _hand_made(scores=scores, errors=errors)
    assert not t.ok and t.reward is None
    assert t.to_dict()["reward"] is None


def test_a_clean_trajectory_rewards_the_sum() -> None:
    t = _hand_made(scores=(8, 2), errors=(None, None))
    assert t.ok and t.reward == 10.0


def test_proposition_row_face() -> None:
    row = PropositionRow("user-1", "the lamp is <pivotal>safe/unsafe</pivotal> .")
    assert row.type == "binary" and row.options == ("safe", "unsafe")
    assert row.statement(1) == "the lamp is safe ."
    assert row.statement(2) == "the lamp is unsafe ."


def test_profiles_with_errors_are_never_rolled_out(organism_backend, profiles) -> None:
    from dataclasses import replace

    broken = [replace(profiles[0], error="profile writer: unparseable"), *profiles[1:3]]
    got = _collect(organism_backend, broken)
    assert got[0].messages == () and got[0].errors == ("profile writer: unparseable",)
    assert got[0].reward is None and not got[0].pairs()
    assert all(t.ok for t in got[1:])
