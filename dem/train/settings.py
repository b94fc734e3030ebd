"""Any field of TRL's trainer config or PEFT's `LoraConfig` as a setting of a dem training spec.

A spec names the settings the study varies (`dem.train.specs`); every other field of the
trainer's config (`trl.SFTConfig` / `trl.KTOConfig`) goes in its ``trainer_args`` and every other
field of `peft.LoraConfig` in its ``lora_args``. `route` sorts flat ``NAME=VALUE`` settings (a
preset's ``overrides``, ``dem train --set``) into the three; names are checked against the
dataclasses themselves, and an unknown one names the closest valid one.

Both mappings are spec fields, so they enter the adapter's cache key. TRL and PEFT are imported
only when a setting outside the spec is given.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from dem.errors import ConfigError

TRAINER_ARGS = "trainer_args"
LORA_ARGS = "lora_args"

# TRL / PEFT names of settings a spec holds under its own name.
ALIASES = {
    "per_device_train_batch_size": "batch_size",
    "activation_checkpointing": "gradient_checkpointing",
    "r": "lora_r",
}

# Fields dem sets itself, and why a spec cannot change them.
OWNED = {
    "output_dir": "dem trains in a scratch folder and stores the adapter (use --out for a copy)",
    "assistant_only_loss": "dem picks the loss mask from the data and chat template",
    "completion_only_loss": "dem picks the loss mask from the data and chat template",
    "include_num_input_tokens_seen": "dem counts the trained tokens for its throughput figure",
    "task_type": "dem trains causal language models (CAUSAL_LM)",
    "peft_type": "dem trains LoRA adapters",
    "inference_mode": "PEFT sets it when the adapter is saved",
    "base_model_name_or_path": "PEFT takes it from the model",
    "revision": "PEFT takes it from the model",
    "modules_to_save": "an adapter must hold LoRA matrices only to be servable",
    "trainable_token_indices": "an adapter must hold LoRA matrices only to be servable",
    "use_dora": "DoRA magnitude vectors are not plain LoRA matrices (not servable by vLLM)",
    "lora_bias": "LoRA bias vectors are not plain LoRA matrices (not servable by vLLM)",
}
# init_lora_weights values that rewrite the base model's weights: the adapter would not apply
# to the unchanged base model that dem loads it on.
_BASE_REWRITING_INITS = ("pissa", "olora", "corda", "eva", "loftq")


@cache
def config_fields(name: str) -> dict[str, Any]:
    """Field name -> type hint of ``SFTConfig``, ``KTOConfig`` or ``LoraConfig``."""
    cls = config_class(name)
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls) if f.init}


def config_class(name: str) -> type:
    """The config dataclass called `name` (imports TRL or PEFT)."""
    if name == "LoraConfig":
        from peft import LoraConfig

        return LoraConfig
    import trl

    return getattr(trl, name)


def route(
    spec_fields: Iterable[str], trainer_config: str, values: Mapping[str, Any], owner: str
) -> dict[str, Any]:
    """Sort flat settings into spec fields, ``trainer_args`` and ``lora_args``.

    `values` may also hold ``trainer_args`` / ``lora_args`` mappings, merged with the flat names
    routed into them. `owner` (the spec's class name) appears in errors.
    """
    spec_fields = set(spec_fields)
    out: dict[str, Any] = {}
    extra: dict[str, dict[str, Any]] = {TRAINER_ARGS: {}, LORA_ARGS: {}}
    for name, value in values.items():
        if name in (TRAINER_ARGS, LORA_ARGS):
            if not isinstance(value, Mapping):
                raise ConfigError(name, f"expected a table of settings, got {value!r}")
            extra[name].update(value)
        elif name in spec_fields:
            out[name] = value
        elif name in ALIASES:
            target = ALIASES[name]
            if target in values:
                raise ConfigError(name, f"is {owner}.{target}, which is set too")
            out[target] = value
        elif name in config_fields(trainer_config):
            extra[TRAINER_ARGS][name] = value
        elif name in config_fields("LoraConfig"):
            extra[LORA_ARGS][name] = value
        else:
            known = spec_fields | set(config_fields(trainer_config))
            known |= set(config_fields("LoraConfig"))
            raise ConfigError(
                name,
                f"is not a setting of {owner}, {trainer_config} or LoraConfig"
                + _suggestion(name, known),
            )
    for key, args in extra.items():
        if args:
            out[key] = {**dict(values.get(key, {})), **args}
    return out


def check_args(field: str, args: Any, config: str, spec_fields: Iterable[str]) -> dict[str, Any]:
    """Validate a spec's ``trainer_args`` / ``lora_args`` against `config`'s dataclass fields;
    returns them sorted by name. Errors name ``FIELD.NAME``."""
    if not isinstance(args, Mapping):
        raise ConfigError(field, f"expected a table of {config} fields, got {args!r}")
    if not args:
        return {}
    fields = config_fields(config)
    spec_fields = set(spec_fields)
    for name, value in args.items():
        where = f"{field}.{name}"
        if not isinstance(name, str):
            raise ConfigError(field, f"{name!r} is not a field name")
        if name in spec_fields or name in ALIASES:
            own = ALIASES.get(name, name)
            raise ConfigError(where, f"is a field of the spec: set {own} instead")
        if name in OWNED:
            raise ConfigError(where, f"cannot be set: {OWNED[name]}")
        if name not in fields:
            raise ConfigError(
                where, f"is not a field of {config}" + _suggestion(name, set(fields) - set(OWNED))
            )
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ConfigError(where, f"{value!r} is not a plain JSON value") from None
        if not _fits(value, fields[name]):
            raise ConfigError(where, f"expected {_describe(fields[name])}, got {value!r}")
    if config == "LoraConfig":
        _check_lora_values(field, args)
    return dict(sorted(args.items()))


# report_to name -> the module its transformers callback imports
_TRACKER_MODULES = {"azure_ml": "azureml", "flyte": "flytekit", "neptune": "neptune"}


def check_trackers(report_to: Iterable[str]) -> None:
    """Every tracker in `report_to` is installed; checked before any model loads."""
    import importlib.util

    for name in report_to:
        module = _TRACKER_MODULES.get(name, name)
        if importlib.util.find_spec(module) is None:
            extra = " (or pip install 'dem[tensorboard]')" if name == "tensorboard" else ""
            raise ConfigError("report_to", f"{name} is not installed: pip install {module}{extra}")


def _check_lora_values(field: str, args: Mapping[str, Any]) -> None:
    if args.get("bias", "none") != "none":
        raise ConfigError(
            f"{field}.bias", "only 'none': trained bias vectors make the adapter unservable"
        )
    init = args.get("init_lora_weights")
    if isinstance(init, str) and init.startswith(_BASE_REWRITING_INITS):
        raise ConfigError(
            f"{field}.init_lora_weights",
            f"{init!r} rewrites the base model's weights; dem applies adapters to the unchanged "
            "base model",
        )


def _suggestion(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value can stand for a field typed `hint` (lenient where unsure)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in args or any(isinstance(a, str) and "[" in a for a in args)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, list | tuple)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return value in {m.value for m in hint} or value in hint.__members__
    return True


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if hint is type(None):
        return "null"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return " or ".join(repr(m.value) for m in hint)
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if hint in names:
        return names[hint]
    if origin in (list, tuple) or hint in (list, tuple):
        return "a list"
    if origin is dict or hint is dict:
        return "a table"
    return getattr(hint, "__name__", str(hint))
