"""Load a `ModelSpec` into a transformers model and tokenizer (torch imported lazily), without
the libraries' per-load progress bars and notices (`dem.models.quiet.quiet_load`)."""

from __future__ import annotations

from typing import Any

from dem.errors import DemError
from dem.models.quiet import quiet_load
from dem.models.spec import ModelSpec


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a CUDA GPU is present, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: str, device: str) -> Any:
    """``auto`` -> bfloat16 on CUDA, float32 on the CPU."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def load_tokenizer(spec: ModelSpec) -> Any:
    """The spec's tokenizer, left-padded (generation batches), with a pad token."""
    from transformers import AutoTokenizer

    with quiet_load():
        tok = AutoTokenizer.from_pretrained(
            spec.name_or_path,
            revision=spec.revision,
            gguf_file=spec.gguf_file,
            trust_remote_code=spec.trust_remote_code,
        )
    if spec.chat_template:
        tok.chat_template = spec.chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_model(
    spec: ModelSpec, *, merge_adapter: bool = False, probe: Any = None
) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` in eval mode on the spec's device and dtype.

    With an adapter, the model is a PEFT model (or merged, if `merge_adapter`), and the adapter
    is checked first (`dem.models.adapters`): a malformed, inert or ill-fitting adapter is a
    `DemError` naming its folder, never a silent base model.
    """
    from transformers import AutoModelForCausalLM

    if spec.adapter:
        from dem.models.adapters import check_adapter_folder, check_adapter_weights

        check_adapter_folder(spec.adapter)
        check_adapter_weights(spec.adapter)

    device = resolve_device(spec.device)
    with quiet_load():
        model = AutoModelForCausalLM.from_pretrained(
            spec.name_or_path,
            revision=spec.revision,
            gguf_file=spec.gguf_file,
            dtype=resolve_dtype(spec.dtype, device),
            trust_remote_code=spec.trust_remote_code,
        ).to(device)
        tokenizer = load_tokenizer(spec)
        model.eval()
        if spec.adapter:
            from peft import PeftModel

            try:
                model = PeftModel.from_pretrained(model, spec.adapter)
            except (ValueError, KeyError, RuntimeError) as exc:
                raise DemError(
                    f"{spec.adapter}: adapter does not fit {spec.name_or_path}: {exc}"
                ) from exc
            model.eval()
    if spec.adapter:
        from dem.models.adapters import check_adapter_effect

        check_adapter_effect(model, tokenizer, spec.adapter, probe)
        if merge_adapter:
            model = model.merge_and_unload()
    return model, tokenizer
