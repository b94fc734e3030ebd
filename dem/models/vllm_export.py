"""An exact export of a Llama model (and its LoRA adapters) to a head size vLLM's kernels take.

vLLM's attention kernels accept head sizes from 32 up (CPU: 32, 64, 80, 96, 112, 128, ...; the
GPU backends have their own lists); the organism's is 24. `padded_head_dim` picks the smallest
supported size, and `export_model` / `export_adapter` write a copy whose every attention head is
zero-padded to it, computing the same function:

- q and k: each head's rotary halves ``[0, d/2)`` and ``[d/2, d)`` move to ``[0, d/2)`` and
  ``[D/2, D/2 + d/2)`` of the padded head (D the new size), zeros elsewhere, so each rotary pair
  ``(i, i + d/2)`` becomes ``(i, i + D/2)``; ``rope_theta`` becomes ``theta ** (D / d)``, which
  gives pair ``i`` the same frequency ``theta ** (-2i / d)``. The padded pairs rotate zeros.
- q is scaled by ``sqrt(D / d)``: attention multiplies by ``D ** -0.5``, the original by
  ``d ** -0.5``.
- v's head gets the same layout (zeros in the padding), o_proj's input columns follow it.
- A LoRA adapter gets the same map on the output rows of ``lora_B`` (q, k, v; q scaled) and the
  input columns of ``lora_A`` (o_proj); every other matrix is copied unchanged.

The exports are cached in the artifact store under a key of the source files' content.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

from dem.errors import DemError

# vLLM's CPU attention kernels (and every GPU backend) take these head sizes.
SUPPORTED_HEAD_DIMS = (32, 64, 80, 96, 112, 128, 160, 192, 256)
_ATTN_OUT = ("q_proj", "k_proj", "v_proj")  # modules whose output rows are per-head
_COPIED = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
)


def head_dim_of(config: dict[str, Any]) -> int:
    return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def padded_head_dim(head_dim: int) -> int | None:
    """The head size to export to, or None when `head_dim` is served as it is."""
    if head_dim in SUPPORTED_HEAD_DIMS:
        return None
    bigger = [d for d in SUPPORTED_HEAD_DIMS if d > head_dim]
    if not bigger:
        raise DemError(f"head_dim {head_dim} is larger than any head size vLLM supports")
    return bigger[0]


def needs_export(model_dir: str | Path) -> bool:
    """True for a local model folder whose head size vLLM cannot serve as it is."""
    config_path = Path(model_dir) / "config.json"
    if not config_path.is_file():
        return False  # a hub id: vLLM reads it itself
    return padded_head_dim(head_dim_of(json.loads(config_path.read_text("utf-8")))) is not None


def _row_map(old: int, new: int) -> list[int]:
    """Where each of a head's `old` dims goes in a padded head of `new` dims (rotary halves
    kept as halves)."""
    half_old, half_new = old // 2, new // 2
    return [d if d < half_old else d - half_old + half_new for d in range(old)]


def _pad_rows(w: Any, heads: int, old: int, new: int, scale: float = 1.0) -> Any:
    """``w`` (heads*old, ...) -> (heads*new, ...) with each head's rows laid out by `_row_map`."""
    import torch

    idx = torch.tensor(
        [h * new + m for h in range(heads) for m in _row_map(old, new)], dtype=torch.long
    )
    out = torch.zeros((heads * new, *w.shape[1:]), dtype=w.dtype)
    out[idx] = w * scale
    return out


def _pad_cols(w: Any, heads: int, old: int, new: int) -> Any:
    return _pad_rows(w.t().contiguous(), heads, old, new).t().contiguous()


def _check_llama(config: dict[str, Any], where: Path) -> None:
    if config.get("model_type") != "llama":
        raise DemError(
            f"{where}: head_dim {head_dim_of(config)} is not served by vLLM and only llama "
            "models can be exported to a padded head size "
            f"(model_type {config.get('model_type')!r})"
        )
    rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if rope.get("rope_type", "default") != "default" or config.get("partial_rotary_factor"):
        raise DemError(f"{where}: only plain rotary embeddings (rope_type 'default') can be padded")


def _rope_theta(config: dict[str, Any]) -> float:
    params = config.get("rope_parameters") or {}
    return float(params.get("rope_theta", config.get("rope_theta", 10000.0)))


def _pad_tensor(name: str, w: Any, config: dict[str, Any], old: int, new: int) -> Any:
    """One model tensor of the padded export."""
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads")
    kv_heads = kv_heads or heads
    scale = math.sqrt(new / old)
    if ".self_attn.q_proj." in name:
        return _pad_rows(w, heads, old, new, scale)
    if ".self_attn.k_proj." in name or ".self_attn.v_proj." in name:
        return _pad_rows(w, kv_heads, old, new)
    if ".self_attn.o_proj.weight" in name:
        return _pad_cols(w, heads, old, new)
    return w


def _write_model(source: Path, out: Path, new: int) -> dict[str, Any]:
    from safetensors.torch import load_file, save_file

    config = json.loads((source / "config.json").read_text("utf-8"))
    _check_llama(config, source)
    old = head_dim_of(config)
    files = sorted(source.glob("*.safetensors"))
    if not files:
        raise DemError(f"{source}: no .safetensors weights to export")
    for file in files:
        tensors = load_file(str(file))
        padded = {k: _pad_tensor(k, v, config, old, new).contiguous() for k, v in tensors.items()}
        save_file(padded, str(out / file.name), metadata={"format": "pt"})
    if (source / "model.safetensors.index.json").is_file():
        shutil.copy2(source / "model.safetensors.index.json", out)
    theta = _rope_theta(config) ** (new / old)
    config["head_dim"] = new
    if "rope_parameters" in config:
        config["rope_parameters"] = {**config["rope_parameters"], "rope_theta": theta}
    else:
        config["rope_theta"] = theta
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")
    for name in _COPIED:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    return {"head_dim": [old, new], "rope_theta": theta}


def _write_adapter(source: Path, out: Path, config: dict[str, Any], new: int) -> None:
    from safetensors.torch import load_file, save_file

    from dem.models.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS

    old = head_dim_of(config)
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    padded = {}
    for name, w in load_file(str(source / ADAPTER_WEIGHTS)).items():
        if ".q_proj.lora_B" in name:
            w = _pad_rows(w, heads, old, new, math.sqrt(new / old))
        elif ".k_proj.lora_B" in name or ".v_proj.lora_B" in name:
            w = _pad_rows(w, kv_heads, old, new)
        elif ".o_proj.lora_A" in name:
            w = _pad_cols(w, heads, old, new)
        elif any(f".{m}.lora_" in name for m in (*_ATTN_OUT, "o_proj")) and "bias" in name:
            raise DemError(f"{source}: LoRA bias on {name} cannot be padded")
        padded[name] = w.contiguous()
    save_file(padded, str(out / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    shutil.copy2(source / ADAPTER_CONFIG, out / ADAPTER_CONFIG)


def _content_hash(folder: Path, names: list[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def _model_files(folder: Path) -> list[str]:
    return ["config.json", *(p.name for p in folder.glob("*.safetensors")), *_COPIED]


def export_model(model_dir: str | Path, *, store: Any = None) -> Path:
    """The padded export of `model_dir` (built once, cached in the artifact store)."""
    from dem.store import ArtifactStore

    source = Path(model_dir).resolve()
    config = json.loads((source / "config.json").read_text("utf-8"))
    new = padded_head_dim(head_dim_of(config))
    if new is None:
        return source
    _check_llama(config, source)
    store = store or ArtifactStore()
    parts = {"source": _content_hash(source, _model_files(source)), "head_dim": new}
    art = store.get_or_build(
        "vllm-export",
        parts,
        lambda tmp: _write_model(source, tmp, new),
        describe=f"{source.name} padded to head_dim {new} for vLLM",
    )
    return art.path


def export_adapter(adapter_dir: str | Path, model_dir: str | Path, *, store: Any = None) -> Path:
    """The padded export of a LoRA adapter trained on `model_dir` (cached like `export_model`)."""
    from dem.models.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS
    from dem.store import ArtifactStore

    source = Path(adapter_dir).resolve()
    config = json.loads((Path(model_dir) / "config.json").read_text("utf-8"))
    new = padded_head_dim(head_dim_of(config))
    if new is None:
        return source
    store = store or ArtifactStore()
    parts = {
        "adapter": _content_hash(source, [ADAPTER_CONFIG, ADAPTER_WEIGHTS]),
        "model": _content_hash(Path(model_dir), ["config.json"]),
        "head_dim": new,
    }
    art = store.get_or_build(
        "vllm-export-adapter",
        parts,
        lambda tmp: _write_adapter(source, tmp, config, new),
        describe=f"{source.name} padded to head_dim {new} for vLLM",
    )
    return art.path
