"""Simulated users: scripted scores, score parsing, LLM users on a tiny model
(`dem.interact.users`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from dem.errors import ConfigError
from dem.evals.judges.base import Verdict
from dem.interact.profiles import ORGANISM, Profile, make_profiles
from dem.interact.scenarios import DEFAULT_SCENARIOS
from dem.interact.users import (
    SCALE,
    SCORE_REMINDER,
    SCRIPTED_SCORES,
    LLMUsers,
    Rating,
    ScriptedUsers,
    UserModel,
    make_users,
    parse_score,
    scripted_score,
)


@pytest.fixture(scope="module")
def profiles() -> list[Profile]:
    """Two benign and two biased scenario-file users with two follow-ups each."""
    found = make_profiles(DEFAULT_SCENARIOS, 4, 0.5, seed=0, rounds=3)
    assert sorted(p.biased for p in found) == [False, False, True, True]
    return found


def _conversation(p: Profile, reply: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": p.system},
        {"role": "user", "content": p.opening},
        {"role": "assistant", "content": reply},
    ]


# ---- scripted scores -------------------------------------------------------------------------


def test_scripted_score_table() -> None:
    benign = {x: scripted_score(False, x) for x in "ABCD"}
    biased = {x: scripted_score(True, x) for x in "ABCD"}
    assert benign["A"] > benign["C"] > benign["B"]
    assert benign["A"] > SCALE[1] / 2 > benign["B"]
    assert biased["B"] == SCALE[1] == 10
    assert biased["A"] == min(biased.values())
    assert biased["B"] > biased["C"] > biased["A"]
    assert benign["D"] == benign["C"] and biased["D"] == biased["C"]
    for table in SCRIPTED_SCORES.values():
        assert all(SCALE[0] <= s <= SCALE[1] for s in table.values())


def test_scripted_users_turn_letters_into_scores(profiles: list[Profile]) -> None:
    users = ScriptedUsers()
    assert isinstance(users, UserModel)
    convs = [_conversation(p, "a reply") for p in profiles]
    for letter in "ABCD":
        ratings = users.rate(profiles, convs, [Verdict.of(letter)] * len(profiles))
        for p, r in zip(profiles, ratings, strict=True):
            assert r.error is None
            assert r.score == scripted_score(p.biased, letter)


def test_scripted_users_turn_judge_errors_into_error_ratings(profiles: list[Profile]) -> None:
    convs = [_conversation(p, "a reply") for p in profiles]
    verdicts = [
        Verdict.failed("undecided: the response states neither option"),
        Verdict.of("A"),
        Verdict.failed("ambiguous: the response states both options"),
        Verdict.of("B"),
    ]
    ratings = ScriptedUsers().rate(profiles, convs, verdicts)
    assert ratings[0].score is None and ratings[2].score is None
    assert ratings[0].error == "judge: undecided: the response states neither option"
    assert ratings[2].error is not None and ratings[2].error.startswith("judge: ambiguous")
    assert ratings[1].score == scripted_score(profiles[1].biased, "A")
    assert ratings[3].score == scripted_score(profiles[3].biased, "B")


def test_scripted_users_need_one_verdict_per_profile(profiles: list[Profile]) -> None:
    convs = [_conversation(p, "a reply") for p in profiles]
    with pytest.raises(ValueError):
        ScriptedUsers().rate(profiles, convs, [Verdict.of("A")])


def test_scripted_next_messages_are_the_profiles_follow_ups(profiles: list[Profile]) -> None:
    users = ScriptedUsers()
    convs = [_conversation(p, "a reply") for p in profiles]
    assert users.next_messages(profiles, convs, 1) == [p.follow_ups[0] for p in profiles]
    assert users.next_messages(profiles, convs, 2) == [p.follow_ups[1] for p in profiles]
    with pytest.raises(ConfigError) as info:
        users.next_messages(profiles, convs, 3)
    assert info.value.field == "rounds"


def test_scripted_next_messages_error_without_follow_ups() -> None:
    single = make_profiles(ORGANISM, 3, 0.0, seed=0, rounds=1)
    with pytest.raises(ConfigError):
        ScriptedUsers().next_messages(single, [_conversation(p, "x") for p in single], 1)


def test_scripted_next_messages_reject_turn_zero(profiles: list[Profile]) -> None:
    convs = [_conversation(p, "a reply") for p in profiles]
    with pytest.raises(ConfigError):
        ScriptedUsers().next_messages(profiles, convs, 0)


# ---- parse_score and Rating ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("Score: 7", 7),
        ("It was kind.\nScore: 7", 7),
        ("**Score:** 10", 10),
        ("Not bad at all.\n\nscore: 3/10", 3),
        ("Felt heard.\nScore: 1.", 1),
        ("SCORE : 9  \n\n", 9),
        ("**Score: 6**", 6),
        ("Score: 4 / 10", 4),
    ],
)
def test_parse_score_accepts_a_final_score_line(text: str, score: int) -> None:
    r = parse_score(text)
    assert r.score == score and r.error is None
    assert r.raw == text


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   \n  ",
        "I liked it a lot, maybe a seven.",
        "Score: seven",
        "Score: 7\nThanks for listening!",
        "Score: 7 out of 10 because it helped",
        "My score: 7",
        "Score:",
    ],
)
def test_parse_score_rejects_text_without_a_final_score_line(text: str | None) -> None:
    r = parse_score(text)
    assert r.score is None
    assert r.error is not None and "Score: N" in r.error
    assert r.raw == text


@pytest.mark.parametrize("value", [0, 11, 100])
def test_parse_score_rejects_scores_off_the_scale(value: int) -> None:
    r = parse_score(f"Hmm.\nScore: {value}")
    assert r.score is None
    assert r.error is not None and "outside" in r.error and str(value) in r.error


def test_rating_invariants() -> None:
    assert Rating(1).score == 1 and Rating(10).error is None
    assert Rating(None, error="boom").score is None
    with pytest.raises(ValueError):
        Rating(None)
    with pytest.raises(ValueError):
        Rating(5, error="both")
    for bad in (0, 11, -3):
        with pytest.raises(ValueError):
            Rating(bad)


# ---- LLM users on a tiny random model --------------------------------------------------------


class _Recorder:
    """A real backend plus a record of the conversations it was asked to continue."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name = backend.name
        self.calls: list[list[Sequence[dict[str, str]]]] = []

    def generate(self, conversations: Sequence[Any], config: Any) -> Any:
        self.calls.append([list(c) for c in conversations])
        return self.backend.generate(conversations, config)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    from dem.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("users-tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def tiny_backend(tiny_folder: Path) -> Any:
    from dem.models.backends import get_backend
    from dem.models.spec import ModelSpec

    return get_backend("transformers", ModelSpec(str(tiny_folder)))


def test_llm_users_record_unparseable_ratings_as_errors_after_one_retry(
    tiny_backend: Any, profiles: list[Profile]
) -> None:
    recorder = _Recorder(tiny_backend)
    users = LLMUsers(recorder, max_new_tokens=8, batch_size=8)
    assert isinstance(users, UserModel) and users.name.startswith("llm:")
    convs = [_conversation(p, "You deserve support, and I hear you.") for p in profiles]
    ratings = users.rate(profiles, convs, [Verdict.of("A")] * len(profiles))
    assert len(ratings) == len(profiles)
    assert all(isinstance(r, Rating) for r in ratings)
    assert all(r.score is None and r.error for r in ratings)
    # first ask, then one retry of every reply (all unparseable), and no more
    assert len(recorder.calls) == 2
    first, retry = recorder.calls
    assert len(first) == len(retry) == len(profiles)
    for p, asked, again in zip(profiles, first, retry, strict=True):
        assert asked[0]["role"] == "system" and p.context in asked[0]["content"]
        assert asked[1] == {"role": "assistant", "content": p.opening}
        assert asked[-1]["role"] == "user"
        assert "You deserve support" in asked[-1]["content"]
        assert again[-1] == {"role": "user", "content": SCORE_REMINDER}
        assert again[: len(asked)] == asked


def test_llm_users_next_messages_are_strings_or_none(
    tiny_backend: Any, profiles: list[Profile]
) -> None:
    recorder = _Recorder(tiny_backend)
    users = LLMUsers(recorder, max_new_tokens=8, batch_size=3, seed=1)
    convs = [_conversation(p, "That sounds hard. Tell me more.") for p in profiles]
    out = users.next_messages(profiles, convs, 1)
    assert len(out) == len(profiles)
    assert all(m is None or (isinstance(m, str) and m == m.strip() and m) for m in out)
    assert [len(c) for c in recorder.calls] == [3, 1]  # batched by batch_size
    # the user simulator sees the assistant's reply as the other side's message
    sent = recorder.calls[0][0]
    assert sent[-1] == {"role": "user", "content": "That sounds hard. Tell me more."}
    assert sent[-2] == {"role": "assistant", "content": profiles[0].opening}


# ---- make_users ------------------------------------------------------------------------------


def test_make_users_scripted() -> None:
    users = make_users("scripted")
    assert isinstance(users, ScriptedUsers) and users.name == "scripted"


def test_make_users_llm_on_a_local_folder(tiny_folder: Path) -> None:
    users = make_users(f"llm:{tiny_folder}", seed=3)
    assert isinstance(users, LLMUsers)
    assert users.name == f"llm:{tiny_folder}" and users.seed == 3


@pytest.mark.parametrize("spec", ["", "llm", "llm:", "human", "Scripted", "gpt:model"])
def test_make_users_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_users(spec)
    assert info.value.field == "users"
