"""Fixtures of the training tests: one tiny chat model per session, small datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.data.records import Sample


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from dem.models.tiny import build_tiny_model

    # A model this small gains nothing from threads, and on a shared CPU the thread pool's
    # waiting makes a 16-step run 20x slower; the tests' numbers do not depend on it.
    torch.set_num_threads(1)

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


@pytest.fixture(scope="session")
def tiny_spec(tiny_model_dir: Path):
    from dem.models.spec import ModelSpec

    return ModelSpec(str(tiny_model_dir), label="tiny")


@pytest.fixture(scope="session")
def sft_samples() -> list[Sample]:
    """Sixteen one-turn chats with short, learnable answers."""
    return [
        Sample.make(
            {
                "messages": [
                    {"role": "user", "content": f"What is {i} plus {i}?"},
                    {"role": "assistant", "content": f"It is {2 * i}."},
                ]
            },
            source="unit",
        )
        for i in range(16)
    ]


@pytest.fixture(scope="session")
def kto_data() -> list[Sample]:
    """Sixteen labelled rows: desirable answers say yes, undesirable ones no."""
    return [
        Sample.make(
            {
                "prompt": f"Is {i} even?",
                "completion": "yes, it is" if i % 2 == 0 else "no way",
                "label": i % 2 == 0,
            },
            source="unit",
        )
        for i in range(16)
    ]


@pytest.fixture(scope="session")
def sft_fast():
    """The cpu profile with a rate and size that make a visible difference in 16 steps."""
    from dem.train.specs import SFTSpec

    return SFTSpec.profile(
        "cpu", learning_rate=5e-3, max_steps=16, lora_r=8, lora_alpha=16, logging_steps=1
    )


@pytest.fixture(scope="session")
def sft_trained(tiny_spec, sft_samples, sft_fast, tmp_path_factory):
    """``(store, result)`` of one SFT run on the tiny model, shared by the tests."""
    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    store = ArtifactStore(tmp_path_factory.mktemp("sft-store"))
    return store, train_sft(tiny_spec, sft_samples, sft_fast, store=store, progress=False)
