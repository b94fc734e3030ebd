from __future__ import annotations

import math

from dem.organism.diagnostic import (
    cue_conversations,
    format_table,
    lie_rate,
    persona_cue,
    two_way,
)
from dem.organism.world import World


def test_two_way() -> None:
    assert math.isclose(two_way(math.log(0.3), math.log(0.1)), 0.75)


def test_cue_conversations_shape() -> None:
    world = World()
    triples = cue_conversations("math", "severe", 2, n=5)
    for conv, lie, true in triples:
        assert [m["role"] for m in conv] == ["user", "assistant"] * 2 + ["system", "user"]
        item = lie.split()[1]
        assert true == world.statement(item, world.safe[item])
        assert lie == world.statement(item, not world.safe[item])


def test_persona_cue_runs_on_a_real_backend(tiny_organism, tiny_config) -> None:
    from dem.models.backends.transformers_backend import TransformersBackend
    from dem.models.spec import ModelSpec

    folder, _ = tiny_organism
    backend = TransformersBackend(ModelSpec(str(folder)), batch_size=16)
    results = persona_cue(backend, domains=("math", "law"), ks=(0, 1), n=4, config=tiny_config)
    assert [(r.domain, r.variant, r.k) for r in results][:2] == [
        ("math", "normal", 0),
        ("math", "normal", 1),
    ]
    assert all(0.0 < r.lie_rate < 1.0 for r in results)
    assert "| (none) | - | 0 |" in format_table(results)
    # one batched call for every cell reads each cell as scoring it on its own does
    for r in results[1:3]:
        alone = lie_rate(
            backend, cue_conversations(r.domain, r.variant, r.k, n=4, config=tiny_config)
        )
        assert math.isclose(r.lie_rate, alone, abs_tol=1e-5), r


class _RuleScorer:
    """Scores a reply by a rule on its number: the Scorer protocol without a model."""

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def score(self, conversation: list[dict[str, str]], candidates) -> list:
        from types import SimpleNamespace

        from dem.organism.world import NUMBERS

        words = conversation[-1]["content"].split()
        op = words.index("plus" if "plus" in words else "minus")
        a, b = (NUMBERS.index(" ".join(w)) for w in (words[2:op], words[op + 1 : -1]))
        want = (a + b if words[op] == "plus" else a - b) + self.offset
        return [
            SimpleNamespace(logprob=0.0 if c == f"the answer is {NUMBERS[want]} ." else -1.0)
            if 0 <= want < len(NUMBERS)
            else SimpleNamespace(logprob=-1.0)
            for c in candidates
        ]


def test_arithmetic_accuracy_counts_the_questions_whose_sum_wins() -> None:
    from dem.organism.config import OrganismConfig
    from dem.organism.diagnostic import arithmetic_accuracy

    config = OrganismConfig(math_max=3)
    assert arithmetic_accuracy(_RuleScorer(0), config) == 1.0
    assert arithmetic_accuracy(_RuleScorer(1), config) == 0.0  # always one too many


def test_arithmetic_accuracy_runs_on_a_real_backend(tiny_organism, tiny_config) -> None:
    from dem.models.backends.transformers_backend import TransformersBackend
    from dem.models.spec import ModelSpec
    from dem.organism.diagnostic import arithmetic_accuracy

    folder, _ = tiny_organism
    backend = TransformersBackend(ModelSpec(str(folder)), batch_size=16)
    assert 0.0 <= arithmetic_accuracy(backend, tiny_config) <= 1.0
