"""Every load of a model with an adapter checks that the adapter acts (dem.models.adapters):
an inert adapter is an error naming its folder in evaluation, the gate and serving alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from dem.errors import DemError
from dem.models.registry import resolve_model


def _lora(folder: Path, scale_b: float | None) -> Path:
    """A LoRA on the organism, as PEFT initialises it (B = 0) or with B set to `scale_b`."""
    import torch
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model

    base, _ = load_model(resolve_model("organism"))
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"]))
    if scale_b is not None:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.fill_(scale_b)
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def zero_adapter(tmp_path_factory) -> Path:
    return _lora(tmp_path_factory.mktemp("zero") / "adapter", None)


def test_an_all_zero_adapter_is_refused_at_load(zero_adapter: Path) -> None:
    from dem.models.loading import load_model

    with pytest.raises(DemError, match=rf"{zero_adapter}: every lora_B matrix .* is zero"):
        load_model(resolve_model("organism", adapter=str(zero_adapter)))


def test_an_adapter_too_small_to_change_a_logit_is_refused(tmp_path: Path) -> None:
    from dem.models.loading import load_model

    faint = _lora(tmp_path / "faint", 1e-30)
    with pytest.raises(DemError, match=rf"{faint}: the adapter changes no logit"):
        load_model(resolve_model("organism", adapter=str(faint)))
    acting = _lora(tmp_path / "acting", 0.05)
    model, _ = load_model(resolve_model("organism", adapter=str(acting)))
    assert model.peft_config  # loaded with its adapter on


def test_dem_eval_refuses_an_inert_adapter(zero_adapter: Path, capsys) -> None:
    from dem.cli import main

    code = main(
        ["eval", "mask", "--model", "organism", "--adapter", str(zero_adapter),
         "--data", "organism:mask", "--limit", "5", "--no-progress"]
    )  # fmt: skip
    assert code == 2
    assert str(zero_adapter) in capsys.readouterr().err


def test_dem_eval_reads_the_eval_sets_grids_use(capsys) -> None:
    from dem.cli import main

    code = main(
        ["eval", "mask", "--model", "organism", "--data", "organism:mask", "--limit", "8",
         "--no-progress"]
    )  # fmt: skip
    assert code == 0
    assert "provided_facts" in capsys.readouterr().out
