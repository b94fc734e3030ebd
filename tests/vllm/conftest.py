"""The vLLM tests (`pytest -m vllm`, run by `nox -s vllm` and CI in the env `.ci/vllm-env`
builds). With ``DEM_REQUIRE_VLLM=1`` (set by that session) a vLLM test cannot skip: vLLM
missing is a usage error and a skip is a failure. Engines: one per test module, closed after it."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REQUIRED = os.environ.get("DEM_REQUIRE_VLLM") == "1"
# Small engines: the tests share two CPU cores with everything else.
ENGINE_OPTIONS: dict[str, Any] = {"max_model_len": 512, "max_num_seqs": 8}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = [i for i in items if i.get_closest_marker("vllm")]
    if REQUIRED and selected and importlib.util.find_spec("vllm") is None:
        raise pytest.UsageError(
            "DEM_REQUIRE_VLLM=1 but vLLM is not installed here: build the env with "
            ".ci/vllm-env VENV (or run nox -s vllm)"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if REQUIRED and report.skipped and item.get_closest_marker("vllm"):
        report.outcome = "failed"
        report.longrepr = f"DEM_REQUIRE_VLLM=1: a vLLM test may not skip ({report.longrepr})"
    return report


def make_adapter(model_dir: str | Path, out: Path, *, seed: int, std: float, rank: int = 8) -> Path:
    """A real PEFT LoRA adapter on every PAPER_TARGETS module, its matrices drawn at random
    (no training needed to compare backends; never inert)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from dem.train.specs import PAPER_TARGETS

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=list(PAPER_TARGETS))
    peft = get_peft_model(model, config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * std)
    peft.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def close_engines_after() -> Iterator[None]:
    """Shut down the module's engine when the module is done (one engine at a time)."""
    yield
    from dem.models.backends.vllm_backend import close_engines

    close_engines()
