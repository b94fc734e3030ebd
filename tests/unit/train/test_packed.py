"""Packed SFT: each adapter of a pack equals the adapter trained alone (fp32, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.store import ArtifactStore
from dem.train import SFTSpec, train_sft
from dem.train.packed import pack_shape, train_sft_packed

STEPS = 6


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def jobs() -> list:
    """Three organism adapters with their own seeds, data, learning rates and batch sizes."""
    from dem.experiments.recipes import training_samples

    out = []
    for seed, lr, n, batch in [(0, 2e-3, 40, 8), (1, 1e-3, 24, 4), (2, 3e-3, 36, 6)]:
        spec = SFTSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=lr,
            max_steps=STEPS, batch_size=batch, max_length=256, seed=seed, logging_steps=2,
        )  # fmt: skip
        out.append((training_samples("organism:downstream", n, seed), spec))
    return out


def test_packed_adapters_equal_alone_ones(jobs: list, tmp_path: Path) -> None:
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    model = resolve_model("organism")
    packed = train_sft_packed(
        model, jobs, store=ArtifactStore(tmp_path / "p"), progress=False, wave=2
    )  # two passes per step: adapters 0-1, then 2
    alone_store = ArtifactStore(tmp_path / "a")
    for (samples, spec), got in zip(jobs, packed, strict=True):
        assert got is not None and not got.reused
        alone = train_sft(model, samples, spec, store=alone_store, progress=False)
        assert got.key == alone.key  # the same cache entry as today's one-at-a-time run
        a, p = _weights(alone.adapter), _weights(got.adapter)
        assert a.keys() == p.keys()
        assert max(float((a[k] - p[k]).abs().max()) for k in a) <= 1e-5
        assert max(float(p[k].abs().max()) for k in p if "lora_B" in k) > 1e-3  # it trained
        assert got.log["steps"] == STEPS and got.log["pack"] == 3
    # a pack whose members are all stored trains nothing
    again = train_sft_packed(model, jobs, store=ArtifactStore(tmp_path / "p"), progress=False)
    assert all(r is not None and r.reused for r in again)


def test_partly_stored_pack_trains_only_the_missing(jobs: list, tmp_path: Path) -> None:
    from dem.models.registry import resolve_model

    model = resolve_model("organism")
    store = ArtifactStore(tmp_path)
    first = train_sft(model, *jobs[0], store=store, progress=False)
    results = train_sft_packed(model, jobs[:2], store=store, progress=False)
    assert results[0] is not None and results[0].reused and results[0].key == first.key
    assert results[1] is not None and not results[1].reused and results[1].log["pack"] == 1


def test_adapters_another_process_builds_are_left_to_it(jobs: list, tmp_path: Path) -> None:
    from dem.models.registry import resolve_model
    from dem.train.core import ADAPTER_KIND, key_parts, training_device

    model = resolve_model("organism")
    store = ArtifactStore(tmp_path)
    samples, spec = jobs[1]
    device, bf16 = training_device(spec, model)
    key = store.key(ADAPTER_KIND, key_parts(spec, model, samples, device=device.device, bf16=bf16))
    with store._lock(key):  # another builder holds this adapter
        results = train_sft_packed(model, jobs[:2], store=store, progress=False, wait=False)
    assert results[0] is not None and not results[0].reused
    assert results[1] is None


def test_unpackable_specs_are_refused_before_training(jobs: list) -> None:
    from dem.models.registry import resolve_model

    samples, spec = jobs[0]
    assert pack_shape(spec.replace(lora_dropout=0.05)) is None
    assert pack_shape(spec.replace(mitigations=("interleave-ppl",))) is None  # trains alone
    assert pack_shape(spec) != pack_shape(spec.replace(lora_r=4))
    with pytest.raises(ConfigError, match="pack"):
        train_sft_packed(
            resolve_model("organism"), [(samples, spec), (samples, spec.replace(lora_r=4))]
        )


def test_default_pack_is_what_half_the_memory_fits(jobs: list) -> None:
    from dem.models.registry import resolve_model
    from dem.train.packed import MAX_PACK, default_pack

    model, spec = resolve_model("organism"), jobs[0][1]
    one = spec.batch_size * spec.max_length * (3 * 96 * 24 + 369 * 12)  # the organism's shape
    assert default_pack(model, spec, memory=2 * one * 5) == 5
    assert default_pack(model, spec, memory=one) == 1  # never below one adapter
    assert default_pack(model, spec, memory=1e15) == MAX_PACK
