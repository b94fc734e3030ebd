"""The vLLM backend: a clear error without vLLM here; real runs only on a CUDA machine."""

from __future__ import annotations

import importlib.util

import pytest

from dem.errors import DemError
from dem.models.backends import get_backend
from dem.models.backends.base import Backend, GenerationConfig
from dem.models.spec import ModelSpec

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed")
def test_without_vllm_the_error_says_how_to_install(tiny_dir):
    with pytest.raises(DemError, match=r"pip install 'dem\[vllm\]'"):
        get_backend("vllm", ModelSpec(str(tiny_dir)))


@pytest.mark.gpu
def test_vllm_matches_transformers(smollm2_dir):
    backend = get_backend("vllm", ModelSpec(str(smollm2_dir)), gpu_memory_utilization=0.3)
    reference = get_backend("transformers", ModelSpec(str(smollm2_dir), dtype="bfloat16"))
    assert isinstance(backend, Backend)
    chat = [[{"role": "user", "content": "What is the capital of France?"}]]
    (row,) = backend.generate(chat, GenerationConfig(max_new_tokens=20))
    assert "Paris" in row[0].text
    got = backend.score(chat[0], ["Paris.", "London."])
    want = reference.score(chat[0], ["Paris.", "London."])
    assert [s.n_tokens for s in got] == [s.n_tokens for s in want]
    assert got[0].logprob > got[1].logprob
    assert got[0].logprob == pytest.approx(want[0].logprob, abs=0.1)


def test_an_adapter_above_max_lora_rank_is_refused_before_any_engine(tmp_path):
    from dem.models.registry import resolve_model
    from tests.vllm.adapters import make_adapter

    spec = resolve_model("organism")
    adapter = make_adapter(spec.name_or_path, tmp_path / "a", seed=0, std=0.05, rank=8)
    with pytest.raises(DemError, match=r"LoRA rank 8 is above max_lora_rank=4"):
        get_backend("vllm", spec.with_adapter(adapter), max_lora_rank=4)


def test_adapter_ids_follow_the_content():
    """vLLM caches adapters by id: one id per distinct folder digest, never shared, stable."""
    from dem.models.backends.vllm_backend import _lora_id

    one, two = _lora_id("1" * 64), _lora_id("2" * 64)
    assert one >= 1 and two == one + 1
    assert _lora_id("1" * 64) == one


def test_an_adapter_outside_the_engines_lora_modules_is_refused_before_any_engine(tmp_path):
    """vLLM would serve it without the modules its engine does not wrap: refused instead."""
    from dem.models.backends.vllm_backend import adapter_modules
    from dem.models.registry import resolve_model
    from dem.train.specs import PAPER_TARGETS
    from tests.vllm.adapters import make_adapter

    spec = resolve_model("organism")
    adapter = make_adapter(spec.name_or_path, tmp_path / "a", seed=0, std=0.05, rank=4)
    assert adapter_modules(adapter) == sorted(PAPER_TARGETS)
    with pytest.raises(DemError, match=r"LoRA on down_proj, .*v_proj, outside the engine's "):
        get_backend("vllm", spec.with_adapter(adapter), lora_target_modules=["q_proj", "k_proj"])
