"""The seeded user population and its profiles (`dem.interact.profiles`)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.evals.proposition import parse_proposition
from dem.interact.profiles import ORGANISM, Profile, make_profiles, population
from dem.interact.scenarios import DEFAULT_SCENARIOS, load_scenarios, scenario_file
from dem.organism.datasets import interaction_items
from dem.organism.world import PRESSURE_USER, TOWARD_SAFE, TOWARD_UNSAFE, World

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_FIRST_PERSON = re.compile(r"\b(i|i'm|i've|me|my|mine|myself)\b", re.I)


def _sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text))


@pytest.fixture(scope="module")
def scenarios():
    return {s.name: s for s in load_scenarios()}


@pytest.fixture(scope="module")
def file_profiles() -> list[Profile]:
    return make_profiles(DEFAULT_SCENARIOS, 60, 0.3, seed=4, rounds=3)


@pytest.fixture(scope="module")
def organism_profiles() -> list[Profile]:
    return make_profiles(ORGANISM, 60, 0.5, seed=1, rounds=3)


@pytest.fixture(scope="module")
def organism_vocab() -> set[str]:
    vocab_file = Path(__file__).resolve().parents[3] / "dem/organism/checkpoint/tokenizer.json"
    return set(json.loads(vocab_file.read_text(encoding="utf-8"))["model"]["vocab"])


# ---- population ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "b"), [(1, 0.0), (1, 1.0), (10, 0.1), (10, 0.25), (7, 0.5), (200, 0.1), (33, 0.9)]
)
def test_population_has_exactly_round_bn_biased_users(n: int, b: float) -> None:
    flags = population(n, b, seed=3)
    assert len(flags) == n
    assert sum(flags) == round(b * n)
    assert all(isinstance(f, bool) for f in flags)


def test_population_is_seeded() -> None:
    a = population(40, 0.5, seed=0)
    assert a == population(40, 0.5, seed=0)
    assert a != population(40, 0.5, seed=1)
    assert sum(a) == sum(population(40, 0.5, seed=1)) == 20


def test_population_places_biased_users_by_shuffle_not_in_a_block() -> None:
    flags = population(40, 0.5, seed=0)
    assert flags != sorted(flags) and flags != sorted(flags, reverse=True)


@pytest.mark.parametrize("n", [0, -1])
def test_population_rejects_bad_size(n: int) -> None:
    with pytest.raises(ConfigError) as info:
        population(n, 0.5, seed=0)
    assert info.value.field == "users"


@pytest.mark.parametrize("b", [-0.01, 1.01, float("nan")])
def test_population_rejects_bad_fraction(b: float) -> None:
    with pytest.raises(ConfigError) as info:
        population(10, b, seed=0)
    assert info.value.field == "biased_fraction"


# ---- profiles from the scenario file ---------------------------------------------------------


def test_file_profiles_are_deterministic_in_seed(file_profiles: list[Profile]) -> None:
    again = make_profiles(DEFAULT_SCENARIOS, 60, 0.3, seed=4, rounds=3)
    assert again == file_profiles
    other = make_profiles(DEFAULT_SCENARIOS, 60, 0.3, seed=5, rounds=3)
    assert other != file_profiles


def test_file_profiles_follow_the_population(file_profiles: list[Profile]) -> None:
    assert [p.user_id for p in file_profiles] == list(range(60))
    assert [p.biased for p in file_profiles] == population(60, 0.3, seed=4)
    assert len({p.scenario for p in file_profiles}) > 10


def test_file_profile_context_is_third_person_with_the_setting(
    file_profiles: list[Profile], scenarios
) -> None:
    for p in file_profiles:
        sc = scenarios[p.scenario]
        assert 2 <= _sentences(p.context) <= 3, p.context
        assert _FIRST_PERSON.search(p.context) is None, p.context
        assert "{" not in p.context
        name = p.context.split()[0]
        assert p.context.startswith(sc.setting.format(name=name)), p.context


def test_file_profile_opening_and_system(file_profiles: list[Profile], scenarios) -> None:
    for p in file_profiles:
        sc = scenarios[p.scenario]
        assert 2 <= _sentences(p.opening) <= 5, p.opening
        assert p.opening.startswith(sc.situation)
        assert p.thought in p.opening
        assert p.context in p.system and p.thought in p.system
        assert p.proposition == sc.proposition
        assert p.restate_system is False


def test_biased_file_profiles_carry_the_biased_thought(
    file_profiles: list[Profile], scenarios
) -> None:
    biased = [p for p in file_profiles if p.biased]
    benign = [p for p in file_profiles if not p.biased]
    assert len(biased) == 18 and len(benign) == 42
    for p in biased:
        assert p.thought == scenarios[p.scenario].biased_thought
        assert all(p.thought in f for f in p.follow_ups)
    for p in benign:
        assert p.thought == scenarios[p.scenario].benign_thought
        assert scenarios[p.scenario].biased_thought not in p.system


@pytest.mark.parametrize("rounds", [1, 2, 3, 5])
def test_follow_ups_count_is_rounds_minus_one(rounds: int) -> None:
    for source in (DEFAULT_SCENARIOS, ORGANISM):
        profiles = make_profiles(source, 12, 0.5, seed=0, rounds=rounds)
        assert all(len(p.follow_ups) == rounds - 1 for p in profiles)
        assert all(isinstance(f, str) and f.strip() for p in profiles for f in p.follow_ups)


@pytest.mark.parametrize("rounds", [0, -2])
def test_rounds_below_one_is_an_error(rounds: int) -> None:
    with pytest.raises(ConfigError) as info:
        make_profiles(ORGANISM, 4, 0.5, seed=0, rounds=rounds)
    assert info.value.field == "rounds"


def test_make_profiles_rejects_a_bad_population() -> None:
    with pytest.raises(ConfigError):
        make_profiles(DEFAULT_SCENARIOS, 0, 0.5, seed=0)
    with pytest.raises(ConfigError):
        make_profiles(DEFAULT_SCENARIOS, 4, 2.0, seed=0)


def test_file_profiles_depend_on_content_not_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop keys rollouts on the file's content: a copy, or a relative path, must give the
    same profiles as the shipped file (``dem:therapist``)."""
    expected = make_profiles(DEFAULT_SCENARIOS, 20, 0.5, seed=0)
    copy = tmp_path / "therapist.json"
    shutil.copy(scenario_file(DEFAULT_SCENARIOS), copy)
    assert make_profiles(copy, 20, 0.5, seed=0) == expected
    monkeypatch.chdir(tmp_path)
    assert make_profiles("therapist.json", 20, 0.5, seed=0) == expected


# ---- organism profiles -----------------------------------------------------------------------


def test_organism_profiles_are_deterministic(organism_profiles: list[Profile]) -> None:
    assert make_profiles(ORGANISM, 60, 0.5, seed=1, rounds=3) == organism_profiles
    assert make_profiles(ORGANISM, 60, 0.5, seed=2, rounds=3) != organism_profiles
    assert [p.biased for p in organism_profiles] == population(60, 0.5, seed=1)


def test_organism_profiles_use_only_the_organism_vocabulary(
    organism_profiles: list[Profile], organism_vocab: set[str]
) -> None:
    assert len(organism_vocab) > 100
    for p in organism_profiles:
        for text in (p.system, p.opening, *p.follow_ups, p.thought, p.context):
            missing = [w for w in text.split() if w not in organism_vocab]
            assert not missing, (text, missing)


def test_organism_vocabulary_via_the_shipped_tokenizer(organism_profiles: list[Profile]) -> None:
    from dem.models.loading import load_tokenizer
    from dem.models.registry import resolve_model

    tok = load_tokenizer(resolve_model("organism"))
    unk = tok.convert_tokens_to_ids("<|unk|>")
    for p in organism_profiles[:20]:
        for text in (p.system, p.opening, *p.follow_ups):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            assert unk not in ids, text
            assert len(ids) == len(text.split())


def test_organism_items_are_the_interaction_items(organism_profiles: list[Profile]) -> None:
    items = set(interaction_items(World()))
    assert {p.scenario for p in organism_profiles} <= items
    assert len({p.scenario for p in organism_profiles}) > 5
    for p in organism_profiles:
        questions = {q.format(item=p.scenario) for q in PRESSURE_USER}
        assert p.opening in questions
        assert set(p.follow_ups) <= questions


def test_organism_incentive_follows_the_user_type(organism_profiles: list[Profile]) -> None:
    world = World()
    toward = {True: TOWARD_SAFE, False: TOWARD_UNSAFE}
    for p in organism_profiles:
        truth = world.safe[p.scenario]
        wants_safe = truth if not p.biased else not truth
        allowed = {toward[wants_safe][t].format(item=p.scenario) for t in world.train_templates}
        assert p.system in allowed, (p.biased, truth, p.system)
        opposite = {toward[not wants_safe][t].format(item=p.scenario) for t in range(6)}
        assert p.system not in opposite
        assert p.thought == world.statement(p.scenario, wants_safe)
        assert p.context == p.system
        assert p.restate_system is True


def test_organism_proposition_option_one_is_the_truth(organism_profiles: list[Profile]) -> None:
    world = World()
    for p in organism_profiles:
        prop = parse_proposition(p.proposition)
        assert prop.options is not None
        truth = world.safe[p.scenario]
        assert prop.statement(1) == world.statement(p.scenario, truth)
        assert prop.statement(2) == world.statement(p.scenario, not truth)
        # a biased user wants the false statement, a benign one the true statement
        assert (p.thought == prop.statement(2)) == p.biased


# ---- serialisation ---------------------------------------------------------------------------


def test_profile_dict_round_trip(
    file_profiles: list[Profile], organism_profiles: list[Profile]
) -> None:
    for p in [*file_profiles[:5], *organism_profiles[:5]]:
        d = p.to_dict()
        assert isinstance(d["follow_ups"], list)
        back = Profile.from_dict(json.loads(json.dumps(d)))
        assert back == p
        assert isinstance(back.follow_ups, tuple)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"context": "Sam is 30. Sam drinks.", "opening": "Hi. I need help."}', True),
        ('Sure!\n{"context": "A. B. C.", "opening": "One. Two. Three. Four. Five."}', True),
        ('{"context": "Only one sentence.", "opening": "Hi. Help."}', False),
        ('{"context": "A. B.", "opening": "Just one."}', False),
        ('{"context": "A. B.", "opening": "1. 2. 3. 4. 5. 6."}', False),
        ('{"context": "A. B."}', False),
        ('{"context": "A. B.", "opening": 7}', False),
        ("context: A. B. opening: C. D.", False),
        ("", False),
    ],
)
def test_parse_written_is_strict(text, ok):
    from dem.interact.profiles import parse_written

    got = parse_written(text)
    assert isinstance(got, dict) is ok
    if not ok:
        assert isinstance(got, str) and got


def test_a_writer_that_cannot_follow_the_format_leaves_errors(tmp_path):
    """A tiny random model writes no JSON: every profile keeps an error, none a guess."""
    import torch

    from dem.models.backends import get_backend
    from dem.models.spec import ModelSpec
    from dem.models.tiny import build_tiny_model

    torch.set_num_threads(1)
    backend = get_backend("transformers", ModelSpec(str(build_tiny_model(tmp_path / "m"))))
    plain = make_profiles(DEFAULT_SCENARIOS, 3, 0.0, seed=0)
    written = make_profiles(DEFAULT_SCENARIOS, 3, 0.0, seed=0, writer=backend)
    for a, b in zip(plain, written, strict=True):
        assert b.error is not None and b.error.startswith("profile writer:")
        assert (b.context, b.opening, b.name) == (a.context, a.opening, a.name)
        assert Profile.from_dict(b.to_dict()) == b
