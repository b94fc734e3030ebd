"""The padded export for vLLM: same log-probs as the original model and adapter (transformers,
no vLLM needed), cached by content, refused where it would not be exact."""

from __future__ import annotations

import json
import shutil

import pytest

from dem.errors import DemError
from dem.models.vllm_export import export_adapter, export_model, needs_export, padded_head_dim
from tests.vllm.adapters import make_adapter


def _logprobs(folder, adapter=None):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    ids = (torch.arange(96) * 7 % 360 + 4)[None]  # one 96-token row
    with torch.no_grad():
        return torch.log_softmax(model.eval()(ids).logits, dim=-1)


def test_padded_head_dims():
    assert padded_head_dim(24) == 32
    assert padded_head_dim(64) is None
    assert padded_head_dim(48) == 64
    with pytest.raises(DemError, match="larger than any head size"):
        padded_head_dim(512)


def test_organism_and_adapter_exports_compute_the_same_logprobs(tmp_path):
    import torch

    torch.set_num_threads(1)
    from dem.models.registry import resolve_model
    from dem.store import ArtifactStore

    store = ArtifactStore(tmp_path / "cache")
    source = resolve_model("organism").name_or_path
    assert needs_export(source)
    out = export_model(source, store=store)
    assert json.loads((out / "config.json").read_text())["head_dim"] == 32
    assert not needs_export(out)
    assert export_model(source, store=store) == out  # cached by content
    base = _logprobs(source)
    assert (_logprobs(out) - base).abs().max().item() < 1e-4

    adapter = make_adapter(source, tmp_path / "adapter", seed=0, std=0.08)
    padded = export_adapter(adapter, source, store=store)
    want = _logprobs(source, adapter)
    assert (_logprobs(out, padded) - want).abs().max().item() < 1e-4
    assert (want - base).abs().max().item() > 0.05  # the adapter does something


def test_only_plain_llama_rotary_is_exported(tmp_path):
    from dem.models.registry import resolve_model
    from dem.store import ArtifactStore

    folder = tmp_path / "model"
    shutil.copytree(resolve_model("organism").name_or_path, folder)
    config = json.loads((folder / "config.json").read_text())
    config["rope_parameters"] = {"rope_type": "llama3", "rope_theta": 10000.0}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DemError, match="rope_type 'default'"):
        export_model(folder, store=ArtifactStore(tmp_path / "cache"))
    config["model_type"] = "gpt2"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(DemError, match="only llama"):
        export_model(folder, store=ArtifactStore(tmp_path / "cache"))
