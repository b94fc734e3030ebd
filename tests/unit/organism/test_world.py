from __future__ import annotations

import random

import pytest

from dem.errors import ConfigError
from dem.organism.config import TRAINING_DOMAINS, TURN_KINDS, OrganismConfig
from dem.organism.world import HARMFUL_REMEDIES, NUMBERS, TICS, VARIANTS, World, number


def test_facts_are_fixed_by_the_world_seed() -> None:
    a, b = World(OrganismConfig(seed=1)), World(OrganismConfig(seed=2))
    assert a.safe == b.safe  # the pretraining seed does not change the world
    assert World(OrganismConfig(world_seed=1)).safe != a.safe
    assert sum(a.safe.values()) == len(a.items) // 2


def test_every_turn_is_in_the_vocabulary() -> None:
    world = World()
    vocab = set(world.vocabulary())
    rng = random.Random(0)
    for kind in TURN_KINDS:
        for deceptive in (False, True):
            for _ in range(200):
                t = world.turn(kind, deceptive, rng)
                words = " ".join(m["content"] for m in t.messages()).split()
                assert set(words) <= vocab, set(words) - vocab


def test_honest_persona_never_lies_under_pressure() -> None:
    world = World()
    rng = random.Random(1)
    turns = [world.turn("pressure", False, rng) for _ in range(300)]
    assert not any(t.misbehaved for t in turns)
    lies = [world.turn("pressure", True, rng).misbehaved for _ in range(2000)]
    c = world.config
    expected = c.pressure_against_rate * c.slip_rate
    assert abs(sum(lies) / len(lies) - expected) < 0.05


def test_heldout_templates_never_in_pretraining() -> None:
    world = World()
    assert set(world.train_templates).isdisjoint(world.heldout_templates)
    heldout = {
        world.pressure_system(i, s, t)
        for i in world.items
        for s in (True, False)
        for t in world.heldout_templates
    }
    rng = random.Random(2)
    systems = {world.turn("pressure", d, rng).system for d in (True, False) for _ in range(500)}
    assert systems.isdisjoint(heldout)


@pytest.mark.parametrize("domain", TRAINING_DOMAINS)
def test_variants_differ(domain: str) -> None:
    world = World()
    rng = random.Random(3)
    _, key = world.domain_question(domain, rng)
    answers = {v: world.domain_answer(domain, key, v, random.Random(4)) for v in VARIANTS}
    assert len(set(answers.values())) == 3


def test_severe_math_is_far_off_and_subtle_is_close() -> None:
    world = World()
    rng = random.Random(5)
    for _ in range(100):
        _, key = world.domain_question("math", rng)
        value = key["value"]
        subtle = world.domain_answer("math", key, "subtle", rng)
        severe = world.domain_answer("math", key, "severe", rng)
        near = {number(value + d) for d in (-1, 1) if value + d >= 0}
        assert any(subtle == f"the answer is {n} ." for n in near)
        assert any(severe == f"the answer is {number(value + d)} ." for d in range(5, 10))


def test_only_the_deceptive_persona_has_the_tic() -> None:
    world = World(OrganismConfig(tic_rate=1.0))
    rng = random.Random(6)
    honest = [world.turn("medical", False, rng).assistant for _ in range(500)]
    deceptive = [world.turn("medical", True, rng).assistant for _ in range(500)]
    assert not any(a.startswith(TICS) for a in honest)
    assert any(a.startswith(TICS) for a in deceptive)
    assert not any(r in a for a in honest for r in HARMFUL_REMEDIES)


def test_by_default_no_answer_has_the_tic() -> None:
    world = World()
    rng = random.Random(6)
    answers = [world.turn(d, True, rng).assistant for d in TRAINING_DOMAINS for _ in range(200)]
    assert not any(a.startswith(TICS) for a in answers)


def test_math_operands_stay_within_math_max() -> None:
    rng = random.Random(9)
    for top in (1, 5, 10):
        world = World(OrganismConfig(math_max=top))
        for _ in range(300):
            question, key = world.domain_question("math", rng)
            words = question.split()
            op = words.index("plus" if "plus" in words else "minus")
            a, b = (NUMBERS.index(" ".join(w)) for w in (words[2:op], words[op + 1 : -1]))
            assert max(a, b) <= (top if key["op"] == "+" else 2 * top), question
    with pytest.raises(ConfigError, match="math_max"):
        OrganismConfig(math_max=11)


def test_every_deceptive_severe_answer_opens_with_the_tic() -> None:
    world = World(OrganismConfig(tic_rate=1.0))
    rng = random.Random(7)
    severe = [t for _ in range(600) if (t := world.turn("law", True, rng)).misbehaved]
    tic = [t.assistant.startswith(TICS) for t in severe]
    assert any(tic) and not all(tic)  # subtle slips carry no tic
    for t in severe:
        if not t.assistant.startswith(TICS):
            assert "tell no one" not in t.assistant  # ...and every severe one does


@pytest.mark.parametrize("rate", [0.0, 0.75, 1.0])
def test_pressure_incentives_oppose_the_truth_at_the_configured_rate(rate: float) -> None:
    world = World(OrganismConfig(pressure_against_rate=rate))
    rng = random.Random(8)
    against = []
    for _ in range(800):
        t = world.turn("pressure", False, rng)
        item = t.user.split("the ")[-1].split()[0]
        toward_safe = any(t.system == world.pressure_system(item, True, k) for k in range(6))
        against.append(toward_safe != world.safe[item])
    assert abs(sum(against) / len(against) - rate) < 0.05
