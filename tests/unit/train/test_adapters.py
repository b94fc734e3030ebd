"""Adapters: loading proves the adapter acts; untrained or misfit adapters fail; merged export."""

from __future__ import annotations

import json

import pytest

from dem.errors import ConfigError, DataError, DemError
from dem.train.adapters import (
    adapter_effect,
    check_adapter_folder,
    load_adapter_checked,
    merge_adapter,
)


def test_trained_adapter_changes_the_logits(sft_trained) -> None:
    _, result = sft_trained
    model, tok = load_adapter_checked(result.model)
    assert adapter_effect(model, tok) > 1e-3
    assert adapter_effect(model, tok, "plain text probe") > 1e-3


def _fresh_adapter(tiny_spec, folder, targets=("q_proj", "v_proj")):
    """A LoRA as PEFT initialises it: B = 0, so it changes nothing."""
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model

    base, _ = load_model(tiny_spec)
    peft_model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=list(targets)))
    peft_model.save_pretrained(str(folder))
    return folder


def test_untrained_adapter_is_an_error(tiny_spec, tmp_path) -> None:
    adapter = _fresh_adapter(tiny_spec, tmp_path / "fresh")
    check_adapter_folder(adapter)  # well-formed ...
    with pytest.raises(DemError, match="every lora_B matrix of the adapter is zero"):  # inert
        load_adapter_checked(tiny_spec.with_adapter(adapter))


def test_adapter_for_modules_the_model_lacks_is_an_error(tiny_spec, sft_trained, tmp_path) -> None:
    import shutil

    _, result = sft_trained
    misfit = tmp_path / "misfit"
    shutil.copytree(result.adapter, misfit)
    config = json.loads((misfit / "adapter_config.json").read_text())
    config["target_modules"] = ["c_attn", "c_proj"]  # GPT-2 names: not in a Llama
    (misfit / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(DemError):
        load_adapter_checked(tiny_spec.with_adapter(misfit))


def test_non_servable_adapters_are_rejected(sft_trained, tmp_path) -> None:
    import shutil

    _, result = sft_trained
    bad = tmp_path / "bad"
    shutil.copytree(result.adapter, bad)
    config = json.loads((bad / "adapter_config.json").read_text())
    config["modules_to_save"] = ["lm_head"]
    (bad / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(DemError, match="modules_to_save"):
        check_adapter_folder(bad)
    (bad / "adapter_model.safetensors").unlink()
    with pytest.raises(DemError, match=r"missing adapter_model\.safetensors"):
        check_adapter_folder(bad)
    with pytest.raises(ConfigError):
        load_adapter_checked(result.base)  # no adapter at all


def test_adapter_config_that_is_not_utf8_names_file_and_line(tmp_path) -> None:
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    (tmp_path / "adapter_config.json").write_bytes(b'{\n  "peft_type": "LORA",\n  "r": "\xe9"\n}\n')
    with pytest.raises(DataError, match=r"adapter_config\.json:3: not UTF-8") as err:
        check_adapter_folder(tmp_path)
    assert err.value.line == 3


def test_merged_export_loads_with_plain_transformers(sft_trained, tmp_path, set_umask) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dem.train.adapters import probe_inputs

    _, result = sft_trained
    set_umask(0o022)
    out = merge_adapter(result.model, tmp_path / "merged")
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    assert out.stat().st_mode & 0o777 == 0o755  # the umask's, not mkdtemp's owner-only 0o700
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o644}
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    tok = AutoTokenizer.from_pretrained(out)
    peft_model, _ = load_adapter_checked(result.model)
    ids = probe_inputs(tok)
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    assert torch.allclose(expected, got, atol=1e-4)
    with pytest.raises(ConfigError):
        merge_adapter(result.model, out)  # never overwrites a filled folder
