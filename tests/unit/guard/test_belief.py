"""The belief check on the organism: forced choice, samples read by the judge, failures."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.evals.judges.lexical import LexicalJudge
from dem.guard.belief import Belief, BeliefConfig, BeliefRequest, elicit, risk
from dem.guard.stakes import Claim
from dem.models.backends.openai_http import OpenAIBackend
from dem.organism.world import World

WORLD = World()
ITEMS = WORLD.items[:6]


def requests() -> list[BeliefRequest]:
    return [
        BeliefRequest(
            Claim(f"the {item} is <pivotal>safe/unsafe</pivotal> ."),
            f"is the {item} safe ?",
            "You are a helpful assistant.",
        )
        for item in ITEMS
    ]


def test_forced_choice_beliefs_are_the_worlds_facts(organism_backend):
    beliefs = elicit(organism_backend, LexicalJudge(), requests(), BeliefConfig())
    for item, b in zip(ITEMS, beliefs, strict=True):
        assert b.error is None and b.logprobs is not None
        assert (b.p_a > 0.9) if WORLD.safe[item] else (b.p_a < 0.1)


def test_sampled_beliefs_agree_with_the_facts(organism_backend):
    config = BeliefConfig(method="sample", samples=4, max_new_tokens=12)
    beliefs = elicit(organism_backend, LexicalJudge(), requests(), config)
    for item, b in zip(ITEMS, beliefs, strict=True):
        assert len(b.replies) == 4 and b.error is None
        assert b.p_a == (1.0 if WORLD.safe[item] else 0.0), b


def test_a_failing_backend_gives_error_beliefs_never_beliefs():
    dead = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env=None, max_retries=0, timeout=2)
    for config in (BeliefConfig(method="sample", samples=2), BeliefConfig(method="logprob")):
        got = elicit(dead, LexicalJudge(), requests()[:2], config)
        assert all(b.p_a is None and b.error for b in got), got


def test_risk_of_an_answer_against_a_belief():
    b = Belief(0.9, ({"role": "system", "content": "s"}, {"role": "user", "content": "q"}))
    assert risk("A", b) == pytest.approx(0.1)
    assert risk("B", b) == pytest.approx(0.9)
    assert risk("D", b) == 1.0
    assert risk("C", b) is None
    assert risk("A", Belief(None, b.conversation)) is None


def test_config_is_checked():
    with pytest.raises(ConfigError, match=r"belief\.method"):
        BeliefConfig(method="ask")
    with pytest.raises(ConfigError, match=r"belief\.samples"):
        BeliefConfig(samples=0)
