"""Load a `ModelSpec` into a transformers model and tokenizer (torch imported lazily), without
the libraries' per-load progress bars and notices (`dem.models.quiet.quiet_load`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dem.errors import ConfigError, DemError
from dem.models.quiet import quiet_load
from dem.models.spec import ModelSpec

HUB_PROBE_SECONDS = 3.0
"""How long `hub_source` waits for the hub to answer before it calls the machine offline."""
_reachable: dict[str, str | None] = {}


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


def hub_offline(spec: ModelSpec) -> bool:
    """Whether a spec's files must come from the local hub cache alone, decided in at most
    `HUB_PROBE_SECONDS`: False for a local folder or a reachable hub, True for a hub model in
    the local hub cache while the hub is unreachable (or ``HF_HUB_OFFLINE`` is set).

    A hub model that is neither cached nor reachable is a `ConfigError` naming the hub id and
    the endpoint, before anything loads; without this, huggingface_hub retries with backoff
    for about a minute before it gives up.
    """
    if spec.is_local:
        return False
    name = spec.name_or_path
    if name.startswith((".", "/", "~")):
        raise ConfigError("model", f"{name}: no such model folder")
    from huggingface_hub import constants, try_to_load_from_cache

    probe_file = spec.gguf_file or "config.json"
    cached = isinstance(try_to_load_from_cache(name, probe_file, revision=spec.revision), str)
    offline = constants.is_offline_mode()
    problem = "HF_HUB_OFFLINE is set" if offline else _probe(constants.ENDPOINT)
    if problem is None:
        return False
    if cached:
        return True
    raise ConfigError(
        "model",
        f"{name} is not in the local hub cache ({constants.HF_HUB_CACHE}) and cannot be "
        f"downloaded: {problem}; download it where there is a network, or name a local folder",
    )


def _probe(endpoint: str) -> str | None:
    """``None`` when `endpoint` answers HTTP at all within `HUB_PROBE_SECONDS`, else why not
    (remembered per process)."""
    if endpoint not in _reachable:
        import httpx

        try:
            httpx.head(endpoint, timeout=HUB_PROBE_SECONDS, follow_redirects=False)
            _reachable[endpoint] = None
        except httpx.HTTPError as exc:
            _reachable[endpoint] = f"{endpoint} is unreachable ({type(exc).__name__}: {exc})"
    return _reachable[endpoint]


@contextmanager
def hub_access(spec: ModelSpec) -> Iterator[None]:
    """Load `spec` inside this: a hub model that `hub_offline` says to read from the local
    cache is read in huggingface_hub's offline mode (every library's lookups, PEFT's and
    transformers' own included, skip the network and its retries)."""
    if not hub_offline(spec):
        yield
        return
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def load_tokenizer(spec: ModelSpec) -> Any:
    """The spec's tokenizer, left-padded (generation batches), with a pad token."""
    with hub_access(spec):
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
    with hub_access(spec):
        return _load_model(spec, merge_adapter, probe)


def _load_model(spec: ModelSpec, merge_adapter: bool, probe: Any) -> tuple[Any, Any]:
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
