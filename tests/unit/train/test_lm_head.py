"""SFT's loss through the model's logits or TRL's fused LM head (dem/train/lm_head.py)."""

from __future__ import annotations

import pytest

from dem.store import ArtifactStore
from dem.train.lm_head import effective_lm_head
from dem.train.sft import train_sft
from dem.train.specs import SFTSpec


def test_auto_is_fused_on_gpus_and_logits_elsewhere() -> None:
    assert effective_lm_head("auto", "cpu") == "logits"
    assert effective_lm_head("auto", "cuda:1") == "fused"
    assert effective_lm_head("auto", "xpu") == "fused"
    assert effective_lm_head("fused", "cpu") == "fused"
    assert effective_lm_head("logits", "cuda") == "logits"


def test_both_heads_log_the_same_loss_curve(tiny_spec, sft_samples, tmp_path) -> None:
    """The logits head computes the loss TRL's fused head computes: same first loss (same
    initialisation and batch), the same curve after, the same token accuracy; only the fused
    head logs entropy. The head is part of the adapter's key."""
    from safetensors.torch import load_file

    spec = SFTSpec.profile(
        "cpu", learning_rate=5e-3, max_steps=6, lora_r=8, lora_alpha=16, logging_steps=1
    )
    store = ArtifactStore(tmp_path)
    logits = train_sft(tiny_spec, sft_samples, spec, store=store, progress=False)
    fused = train_sft(tiny_spec, sft_samples, spec.replace(lm_head="fused"), store=store)
    assert logits.key != fused.key
    assert (logits.log["lm_head"], fused.log["lm_head"]) == ("logits", "fused")
    rows = {
        name: [r for r in run.log["history"] if "loss" in r]
        for name, run in (("logits", logits), ("fused", fused))
    }
    assert len(rows["logits"]) == len(rows["fused"]) == 6
    for a, b in zip(rows["logits"], rows["fused"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5)
        assert a["mean_token_accuracy"] == pytest.approx(b["mean_token_accuracy"], abs=1e-6)
        assert a["num_tokens"] == b["num_tokens"]
        assert "entropy" in b and "entropy" not in a
    first = load_file(str(logits.adapter / "adapter_model.safetensors"))
    second = load_file(str(fused.adapter / "adapter_model.safetensors"))
    assert first.keys() == second.keys()
    for name, tensor in first.items():  # rounding apart, the same update
        assert (tensor - second[name]).abs().max() <= 1e-4 * max(1.0, tensor.abs().max()), name
