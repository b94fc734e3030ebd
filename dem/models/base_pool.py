"""One loaded base model per process, with adapters put on it and taken off again.

Evaluating a grid scores many LoRA adapters of one base. `on_base(spec, adapters)` lends the
base that this process already holds for `spec` (same model identity, dtype and device),
loads the adapters onto it through PEFT under the names ``a0``, ``a1``, ... and unloads them
when the block ends, so the base is loaded once per process instead of once per condition and
memory stays at one base plus the adapters in use. Every adapter goes through the same checks
as a fresh load (`dem.models.adapters`: servable folder, weights not inert, logits changed).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dem.errors import DemError
from dem.models.spec import ModelSpec

MAX_BASES = 1
"""Bases kept per process: the least recently used one is dropped to load another."""

_bases: dict[str, tuple[Any, Any]] = {}
_lock = threading.RLock()  # one lease at a time (`clear` may run inside one)
_leased = threading.local()
_stats = {"loads": 0, "leases": 0}


@dataclass(frozen=True)
class Lease:
    """The base with `names` (one per adapter, in order) loaded on it; `model` is the
    PEFT model when there are adapters, else the plain base."""

    model: Any
    tokenizer: Any
    names: tuple[str, ...]


def base_key(spec: ModelSpec) -> str:
    """What makes two specs share a loaded base: the base's identity (weights or hub id and
    revision, dtype, chat template), its file, loader options and the resolved device."""
    from dem.models.loading import resolve_device

    base = spec.with_adapter(None)
    return json.dumps(
        {
            **base.identity(),
            "gguf_file": spec.gguf_file,
            "trust_remote_code": spec.trust_remote_code,
            "device": resolve_device(spec.device),
        },
        sort_keys=True,
    )


def loads() -> int:
    """How many bases this process has loaded through the pool (tests, benchmarks)."""
    return _stats["loads"]


def clear(*, gpu_only: bool = False) -> None:
    """Drop the held bases (every one, or those on a GPU); their memory is freed once nothing
    else refers to them. Training calls this with `gpu_only` before it loads its own copy of
    a base, so a GPU never holds an idle evaluation base beside a training one."""
    with _lock:
        for key in list(_bases):
            if not gpu_only or not json.loads(key)["device"].startswith("cpu"):
                _bases.pop(key)
        if gpu_only and not _bases:
            import sys

            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()


def _base(spec: ModelSpec) -> tuple[Any, Any]:
    from dem.models.loading import load_model

    key = base_key(spec)
    if key in _bases:
        _bases[key] = _bases.pop(key)  # most recently used last
        return _bases[key]
    while len(_bases) >= MAX_BASES:
        _bases.pop(next(iter(_bases)))
    _bases[key] = load_model(spec.with_adapter(None))
    _stats["loads"] += 1
    return _bases[key]


@contextmanager
def on_base(spec: ModelSpec, adapters: Sequence[str] = (), probe: Any = None) -> Iterator[Lease]:
    """The process's base for `spec`, with `adapters` loaded as ``a0``, ``a1``, ... (the
    first one active); every adapter is unloaded on exit, leaving the plain base. An adapter
    that fails its checks is a `DemError` naming its folder, and the base stays clean."""
    with _lock:
        if getattr(_leased, "active", False):
            raise DemError("on_base inside on_base: this thread already holds the base")
        _leased.active = True
        try:
            with _lease(spec, adapters, probe) as lease:
                yield lease
        finally:
            _leased.active = False


@contextmanager
def _lease(spec: ModelSpec, adapters: Sequence[str], probe: Any) -> Iterator[Lease]:
    """`on_base`'s body, under the lock."""
    model, tokenizer = _base(spec)
    _stats["leases"] += 1
    if not adapters:
        yield Lease(model, tokenizer, ())
        return
    key = base_key(spec)
    peft_model = _attach(model, tokenizer, spec, adapters, probe)
    try:
        yield Lease(peft_model, tokenizer, tuple(_name(i) for i in range(len(adapters))))
    finally:
        try:
            peft_model.unload()
        except Exception:  # a base in an unknown state is never lent again
            _bases.pop(key, None)
            raise


def _name(i: int) -> str:
    return f"a{i}"


def _has_lora(model: Any) -> bool:
    return any("lora_" in name for name, _ in model.named_parameters())


def _attach(
    model: Any, tokenizer: Any, spec: ModelSpec, adapters: Sequence[str], probe: Any
) -> Any:
    """`model` as a PEFT model with `adapters` loaded and checked; on failure, the base is
    left without adapter layers."""
    from peft import PeftModel

    from dem.models.adapters import (
        check_adapter_effect,
        check_adapter_folder,
        check_adapter_weights,
    )
    from dem.models.quiet import quiet_load

    for folder in adapters:
        check_adapter_folder(folder)
        check_adapter_weights(folder)
    peft_model = None
    try:
        with quiet_load():
            for i, folder in enumerate(adapters):
                try:
                    if peft_model is None:
                        peft_model = PeftModel.from_pretrained(model, folder, adapter_name=_name(i))
                    else:
                        peft_model.load_adapter(folder, adapter_name=_name(i))
                except (ValueError, KeyError, RuntimeError) as exc:
                    raise DemError(
                        f"{folder}: adapter does not fit {spec.name_or_path}: {exc}"
                    ) from exc
        assert peft_model is not None
        peft_model.eval()
        for i, folder in enumerate(adapters):
            peft_model.set_adapter(_name(i))
            check_adapter_effect(peft_model, tokenizer, folder, probe)
        peft_model.set_adapter(_name(0))
    except BaseException:
        if peft_model is not None:
            peft_model.unload()
        if _has_lora(model):  # a load failed half-way: never lend this base again
            _bases.pop(base_key(spec), None)
        raise
    return peft_model
