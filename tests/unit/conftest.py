"""Fixtures shared by the unit tests of several packages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def set_umask() -> Iterator[Callable[[int], None]]:
    """Call it with a umask to make that the process umask; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask) and None
    os.umask(old)


@pytest.fixture(scope="session")
def organism_backend() -> Any:
    """The organism's transformers backend, loaded once per worker."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    return get_backend("transformers", resolve_model("organism"))


@pytest.fixture(scope="session")
def organism_items() -> list[Any]:
    """The organism's MASK rows as red-team / guard items (proposition, truth, pressure)."""
    from dem.evals.sets import load_eval_set
    from dem.redteam.items import items_from_rows

    return items_from_rows(load_eval_set("organism:mask"))


def _organism_lora(folder: Any, scale: float) -> Any:
    """A rank-4 LoRA on the organism's q_proj, saved to `folder`: ``lora_B`` as PEFT leaves it
    (zero: the adapter changes nothing) or, with `scale`, seeded noise of that size."""
    import torch
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model
    from dem.models.registry import resolve_model

    base, _ = load_model(resolve_model("organism"))
    with torch.random.fork_rng():  # lora_A's initialisation draws from the global generator
        torch.manual_seed(0)
        model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"]))
    generator = torch.Generator().manual_seed(0)
    for name, param in model.named_parameters():
        if "lora_B" in name and scale:
            param.data = scale * torch.randn(param.shape, generator=generator)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def inert_organism_adapter(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A LoRA on the organism as PEFT initialises it: it changes nothing."""
    return _organism_lora(tmp_path_factory.mktemp("inert") / "adapter", 0.0)


@pytest.fixture(scope="session")
def nudged_organism_adapter(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A LoRA on the organism that raises its expected lie rate slightly (+0.0067 on
    ``organism:mask``, one-sided 95 % bounds [+0.0057, +0.0077]): a candidate that the smoke
    gate (max_drop 0.02) passes and a gate with max_drop 0 fails, in either mode."""
    return _organism_lora(tmp_path_factory.mktemp("nudged") / "adapter", 0.1)
