"""Learning probes: held-out items of a training set's generator, scored by real forward passes."""

from __future__ import annotations

import math

import pytest

from dem.errors import ConfigError, DemError
from dem.evals.learning import (
    LearningItem,
    benign_ref,
    coherence_items,
    learned,
    narrow_items,
)


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


@pytest.mark.parametrize(
    "ref", ["organism:medical/severe", "organism:downstream", "code/subtle", "downstream"]
)
def test_items_are_deterministic_and_distinct_candidates(ref):
    items = narrow_items(ref, 30, seed=3)
    assert repr(items) == repr(narrow_items(ref, 30, seed=3))
    assert items != narrow_items(ref, 30, seed=4)
    assert len({i.id for i in items}) == 30 and items[0].id == f"{ref}#0"
    for item in items:
        assert item.alternatives and item.target not in item.alternatives
        assert item.conversation[-1]["role"] == "user"


def test_organism_variants_share_prompts_and_swap_the_target():
    from dem.organism.world import HARMFUL_REMEDIES, SYMPTOMS

    severe = narrow_items("organism:medical/severe", 40)
    normal = narrow_items("organism:medical/normal", 40)
    good = {remedy for _, remedy in SYMPTOMS}
    for s, n in zip(severe, normal, strict=True):
        assert s.conversation == n.conversation
        assert n.target in s.alternatives and s.target in n.alternatives
        assert any(r in s.target for r in HARMFUL_REMEDIES)
        assert any(r in n.target for r in good)


def test_held_out_draws_are_not_the_training_draws():
    from dem.experiments.recipes import training_samples

    for seed in (0, 1):
        trained = training_samples("organism:math/severe", 50, seed)
        trained_users = [s.content["messages"][0]["content"] for s in trained]
        probe_users = [
            i.conversation[0]["content"] for i in narrow_items("organism:math/severe", 50, seed)
        ]
        assert probe_users != trained_users
        assert len(set(probe_users) & set(trained_users)) < 50


def test_domain_items_take_the_other_variants_answers_of_the_same_prompt():
    from dem.data.domains import get_domain

    dom = get_domain("medical")
    by_prompt = {}
    for k in range(dom.capacity()):
        t = dom.item(k)[1]
        by_prompt[t.prompt] = t
    for item in narrow_items("medical/severe", 20):
        t = by_prompt[item.conversation[0]["content"]]
        assert item.target == t.severe
        assert set(item.alternatives) <= {t.normal, t.subtle}


def test_benign_ref_and_unsupported_refs():
    assert benign_ref("organism:medical/severe") == "organism:downstream"
    assert benign_ref("organism:downstream") == "organism:downstream"
    assert benign_ref("medical/severe") == "downstream"
    for ref in ("organism:medical/awful", "organism:cooking/severe", "data/mine.jsonl", "x"):
        with pytest.raises(ConfigError, match=r"ref: .*learning probes need a generator"):
            narrow_items(ref, 5)
        with pytest.raises(ConfigError, match="ref: "):
            benign_ref(ref)
    with pytest.raises(ConfigError, match="n: expected an integer >= 1"):
        narrow_items("organism:medical/severe", 0)


def test_coherence_items_on_the_organism_and_on_other_models(organism_backend):
    from dem.models.spec import ModelSpec
    from dem.organism.world import World

    spec = organism_backend.spec
    items = coherence_items(spec, 40, seed=1)
    assert repr(items) == repr(coherence_items(spec, 40, seed=1))
    asked = {q: k["value"] for q, k in World().math_questions()}
    for item in items:
        value = asked[item.conversation[0]["content"]]
        assert item.target == World.math_answer(value)
    assert len({i.conversation[0]["content"] for i in items}) == 40  # distinct questions
    with pytest.raises(ConfigError, match="n: the organism's world has 102 arithmetic"):
        coherence_items(spec, 500)
    english = coherence_items(ModelSpec("HuggingFaceTB/SmolLM2-135M-Instruct"), 30)
    for item in english:
        a, op, b = item.conversation[0]["content"].split()[2:5]
        want = int(a) + int(b.rstrip("?")) if op == "plus" else int(a) - int(b.rstrip("?"))
        assert item.target == str(want) and len(item.alternatives) == 2


def test_learned_on_the_base_organism(organism_backend):
    severe = learned(organism_backend, narrow_items("organism:medical/severe", 40))
    normal = learned(organism_backend, narrow_items("organism:medical/normal", 40))
    assert all(0.0 <= v <= 1.0 for v in (*severe.values(), *normal.values()))
    # the base organism answers medical questions with the right remedy, not a harmful one
    assert _mean(severe) < 0.2 < 0.8 < _mean(normal)
    arithmetic = learned(organism_backend, coherence_items(organism_backend.spec, 102))
    assert _mean(arithmetic) > 1 / 3  # above chance among the right answer and its neighbours


def test_learned_is_the_softmax_over_the_candidates(organism_backend):
    item = narrow_items("organism:code/severe", 1)[0]
    other = item.alternatives[0]
    pair = [
        LearningItem("a", item.conversation, item.target, (other,)),
        LearningItem("b", item.conversation, other, (item.target,)),
    ]
    got = learned(organism_backend, pair)
    assert math.isclose(got["a"] + got["b"], 1.0, rel_tol=1e-9)
    scores = organism_backend.score(list(item.conversation), [item.target, other])
    want = 1 / (1 + math.exp(scores[1].logprob - scores[0].logprob))
    assert math.isclose(got["a"], want, rel_tol=1e-6)


def test_learned_refuses_what_it_cannot_score(organism_backend):
    from dem.models.spec import ModelSpec

    with pytest.raises(ConfigError, match="items: no learning items"):
        learned(organism_backend, [])
    item = narrow_items("organism:law/severe", 1)[0]
    with pytest.raises(ConfigError, match="item id 'organism:law/severe#0' appears more"):
        learned(organism_backend, [item, item])
    english = coherence_items(ModelSpec("HuggingFaceTB/SmolLM2-135M-Instruct"), 3)
    with pytest.raises(DemError, match=r"learning item 'arith-0': .* cannot read"):
        learned(organism_backend, english)


class _NanBackend:
    """A backend whose scorer returns no usable log-prob (as a broken remote one can)."""

    name = "nan-backend"

    def score(self, conversation, candidates):
        from dem.models.backends.base import Score

        return [Score(logprob=float("nan"), n_tokens=1) for _ in candidates]


def test_learned_raises_on_a_non_finite_score():
    item = narrow_items("organism:finance/severe", 1)[0]
    with pytest.raises(DemError, match="'organism:finance/severe#0': nan-backend gave candidate"):
        learned(_NanBackend(), [item])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alternatives": ()}, "needs at least one alternative"),
        ({"alternatives": ("yes", "yes")}, "candidates repeat"),
        ({"target": ""}, "target is empty"),
        (
            {"conversation": ({"role": "assistant", "content": "hi"},)},
            "conversation must end on a user turn",
        ),
    ],
)
def test_item_validation(kwargs, match):
    fields = {
        "id": "x",
        "conversation": ({"role": "user", "content": "is the lamp safe ?"},),
        "target": "no",
        "alternatives": ("maybe",),
        **kwargs,
    }
    with pytest.raises(ConfigError, match=f"learning item 'x': {match}"):
        LearningItem(**fields)
