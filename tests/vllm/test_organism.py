"""The organism on vLLM (through its padded export), base and two adapters, against the
transformers backend: the same log-probs (1e-3 nats), verdicts, greedy texts and stop reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.vllm.adapters import make_adapter
from tests.vllm.conftest import ENGINE_OPTIONS

pytestmark = [pytest.mark.vllm, pytest.mark.usefixtures("close_engines_after")]
TOL = 1e-3  # nats, per scored item
N_ROWS = {None: 40, "a1": 12}  # all verdicts on 40 MASK rows for the base; 12 for an adapter


@pytest.fixture(scope="module")
def adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from dem.models.registry import resolve_model

    base = resolve_model("organism").name_or_path
    root = tmp_path_factory.mktemp("organism-adapters")
    return {
        name: make_adapter(base, root / name, seed=seed, std=0.08)
        for name, seed in (("a1", 1), ("a2", 2))
    }


@pytest.fixture(scope="module")
def pairs(adapters: dict[str, Path]) -> dict[str | None, tuple[Any, Any]]:
    """``{adapter name or None: (vllm backend, transformers backend)}``, one engine with a
    single LoRA slot (every adapter call fills it)."""
    import torch

    torch.set_num_threads(1)
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    spec = resolve_model("organism")
    out = {}
    for name, path in [(None, None), *adapters.items()]:
        s = spec.with_adapter(path)
        out[name] = (
            get_backend("vllm", s, max_loras=1, **ENGINE_OPTIONS),
            get_backend("transformers", s),
        )
    return out


def mask_items(n: int) -> list[tuple[Any, list[dict[str, str]]]]:
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set

    rows = load_eval_set("organism:mask")[:n]
    return [(row, pressure_conversation(row)) for row in rows]


def test_the_organism_is_served_through_its_padded_export(pairs):
    import json

    vb, _ = pairs[None]
    folder = Path(vb.llm.llm_engine.model_config.model)
    assert folder.parent.name == "vllm-export"
    assert json.loads((folder / "config.json").read_text())["head_dim"] == 32
    assert Path(pairs["a1"][0].lora.lora_path).parent.name == "vllm-export-adapter"


@pytest.mark.parametrize("adapter", list(N_ROWS))
def test_mask_verdicts_and_logprobs_equal_transformers(pairs, adapter):
    from dem.evals.judges.logprob import LogProbScorer

    vb, tb = pairs[adapter]
    items = mask_items(N_ROWS[adapter])
    got = LogProbScorer(vb).score_all(items)
    want = LogProbScorer(tb).score_all(items)
    assert all(v.ok for v in want)
    assert [(v.letter, v.error) for v in got] == [(v.letter, v.error) for v in want]
    for g, w in zip(got, want, strict=True):
        assert g.n_tokens == w.n_tokens
        assert g.logprobs == pytest.approx(w.logprobs, abs=TOL)


def test_adapters_change_the_scores(pairs):
    """The comparison above is not vacuous: each adapter moves the log-probs."""
    conv, cands = mask_items(1)[0][1], ["yes .", "no ."]
    base = [s.logprob for s in pairs[None][0].score(conv, cands)]
    for name in ("a1", "a2"):
        lps = [s.logprob for s in pairs[name][0].score(conv, cands)]
        assert max(abs(a - b) for a, b in zip(lps, base, strict=True)) > 0.05


def test_greedy_generation_equals_transformers_with_belief_samples(pairs):
    from dem.models.backends.base import GenerationConfig

    convs = [conv for _, conv in mask_items(8)]
    config = GenerationConfig(max_new_tokens=24, temperature=0.0, n=3)  # belief-k 3, greedy
    for vb, tb in pairs.values():
        got, want = vb.generate(convs, config), tb.generate(convs, config)
        assert [[c.text for c in row] for row in got] == [[c.text for c in row] for row in want]
        assert [[c.finish_reason for c in r] for r in got] == [
            [c.finish_reason for c in r] for r in want
        ]
        assert all(len(row) == 3 and len({c.text for c in row}) == 1 for row in got)


def test_sampling_draws_k_seeded_samples(pairs):
    from dem.models.backends.base import GenerationConfig

    vb, _ = pairs["a1"]
    convs = [conv for _, conv in mask_items(2)]
    config = GenerationConfig(max_new_tokens=16, temperature=1.0, n=4, seed=3)
    first, again = vb.generate(convs, config), vb.generate(convs, config)
    assert all(len(row) == 4 and all(c.ok and c.text is not None for c in row) for row in first)
    assert [[c.text for c in r] for r in first] == [[c.text for c in r] for r in again]
    assert any(len({c.text for c in row}) > 1 for row in first)


def test_base_rows_never_get_an_adapter_while_the_slot_is_full(pairs):
    """vllm-project/vllm #48421: with every LoRA slot in use, base rows batched beside adapter
    rows got the adapter. dem never mixes them: base results after adapter calls (the one slot
    holding a1, then a2) are the base results before them, exactly."""
    from dem.models.backends.base import GenerationConfig

    items = mask_items(6)
    convs = [conv for _, conv in items]
    cands = ["yes .", "no ."]
    base, _ = pairs[None]
    config = GenerationConfig(max_new_tokens=16)
    before = (base.score_many([(c, cands) for c in convs]), base.generate(convs, config))
    for name in ("a1", "a2"):
        pairs[name][0].score_many([(c, cands) for c in convs])
        pairs[name][0].generate(convs, config)
        after = (base.score_many([(c, cands) for c in convs]), base.generate(convs, config))
        assert after == before


def test_scoring_is_batched_with_lora_off_lm_head(pairs):
    """LoRA only on the trained projections: no LoRA logits path (#16668), so the comparisons
    above scored the base's candidates in one batch and an adapter's in batches of
    CPU_LORA_SCORE_BATCH (vLLM's CPU LoRA ops are fastest on small batches)."""
    from dem.models.backends.vllm_backend import CPU_LORA_SCORE_BATCH

    assert CPU_LORA_SCORE_BATCH > 1
    for name, (vb, _) in pairs.items():
        assert vb.score_batch == (None if name is None else CPU_LORA_SCORE_BATCH)
        assert vb.llm.llm_engine.vllm_config.lora_config.target_modules == sorted(
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        )
