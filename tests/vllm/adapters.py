"""Random, real PEFT LoRA adapters for comparing backends (no training needed)."""

from __future__ import annotations

from pathlib import Path


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
