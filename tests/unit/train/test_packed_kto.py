"""Packed KTO: each adapter of a pack equals the adapter `train_kto` trains alone (fp32, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.data.records import Sample
from dem.errors import ConfigError, DataError
from dem.store import ArtifactStore
from dem.train import KTOSpec
from dem.train.kto import train_kto
from dem.train.packed import pack_shape, train_kto_packed, train_packed

STEPS = 4


def kto_rows(n: int, seed: int) -> list[Sample]:
    """`n` organism rows as KTO rows: the reply as it is (desirable) or another row's reply
    (undesirable), the labels in a seeded order."""
    import random

    from dem.experiments.recipes import training_samples

    rows = [s.content["messages"] for s in training_samples("organism:downstream", n, seed)]
    rng = random.Random(seed)
    out = []
    for i, messages in enumerate(rows):
        good = rng.random() < 0.75
        reply = messages[-1]["content"] if good else rows[(i + 1) % n][-1]["content"]
        out.append(
            Sample.make(
                {"prompt": messages[0]["content"], "completion": reply, "label": good},
                source="unit",
            )
        )
    return out


@pytest.fixture(scope="module")
def jobs() -> list:
    """Three organism KTO adapters with their own seeds, data, rates, batch sizes and betas;
    the third accumulates two micro-batches per step."""
    out = []
    for seed, lr, n, batch, beta, ga in [
        (0, 5e-3, 24, 6, 0.1, 1),
        (1, 2e-3, 16, 4, 0.3, 1),
        (2, 2.4e-2, 32, 4, 0.2, 2),  # its policy drifts: the KL estimate is above 0
    ]:
        spec = KTOSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, learning_rate=lr, max_steps=STEPS, batch_size=batch,
            gradient_accumulation_steps=ga, max_length=128, seed=seed, beta=beta,
            logging_steps=3,
        )  # fmt: skip
        out.append((kto_rows(n, seed), spec))
    return out


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_packed_kto_adapters_equal_alone_ones(jobs: list, tmp_path: Path) -> None:
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    model = resolve_model("organism")
    packed = train_kto_packed(
        model, jobs, store=ArtifactStore(tmp_path / "p"), progress=False, wave=2
    )  # two passes per micro-batch: adapters 0-1, then 2
    alone_store = ArtifactStore(tmp_path / "a")
    for (samples, spec), got in zip(jobs, packed, strict=True):
        assert got is not None and not got.reused
        alone = train_kto(model, samples, spec, store=alone_store, progress=False)
        assert got.key == alone.key  # the same cache entry as the one-at-a-time run
        a, p = _weights(alone.adapter), _weights(got.adapter)
        assert a.keys() == p.keys()
        assert max(float((a[k] - p[k]).abs().max()) for k in a) <= 1e-5
        assert max(float(p[k].abs().max()) for k in p if "lora_B" in k) > 1e-4  # it trained
        assert got.log["steps"] == STEPS and got.log["pack"] == 3
        # the same steps logged, with the alone run's loss and TRL's KTO metrics
        want, have = alone.log["history"], got.log["history"]
        assert [r["step"] for r in have] == [r["step"] for r in want]
        for name in ("loss", "grad_norm", "kl", "rewards/chosen", "rewards/margins"):
            assert [r[name] for r in have] == pytest.approx([r[name] for r in want], abs=1e-5)
        ends = (alone.first_loss, alone.final_loss)
        assert (got.first_loss, got.final_loss) == pytest.approx(ends, abs=1e-5)
    assert any(row["kl"] > 0.01 for row in packed[2].log["history"])  # the KL term counts
    again = train_packed(model, jobs, store=ArtifactStore(tmp_path / "p"), progress=False)
    assert all(r is not None and r.reused for r in again)


def test_kto_pack_shape_and_refusals(jobs: list) -> None:
    from dem.models.registry import resolve_model
    from dem.train import SFTSpec

    samples, spec = jobs[0]
    assert pack_shape(spec) is not None
    # dropout off everywhere (KTO's default) makes LoRA dropout harmless; kept on, it is random
    assert pack_shape(spec.replace(lora_dropout=0.05)) is not None
    assert pack_shape(spec.replace(lora_dropout=0.05, disable_dropout=False)) is None
    assert pack_shape(spec.replace(trainer_args={"loss_type": "apo_zero_unpaired"})) is None
    sft = SFTSpec.profile("cpu", lora_r=8, lora_alpha=16, lora_dropout=0.0)
    assert pack_shape(sft) != pack_shape(spec.replace(lora_alpha=16))  # no mixed packs
    model = resolve_model("organism")
    with pytest.raises(ConfigError, match="KTOSpecs"):
        train_kto_packed(model, [(samples, sft)])
    with pytest.raises(ConfigError, match="pack shape"):
        train_kto_packed(model, [(samples, spec), (samples, spec.replace(lora_r=4))])
    one_label = [s for s in samples if s.content["label"]]
    with pytest.raises(DataError, match="both labels"):
        train_kto_packed(model, [(samples, spec), (one_label, spec)])
