"""`add_config_arguments`: argparse flags built from a config dataclass's `help_field` metadata.

A config field's type, default, help and choices are written once, on the dataclass; the CLI
reads them from there instead of typing them again (TRL's ``HfArgumentParser`` in small)::

    add_config_arguments(parser, MaskEvalConfig, ("temperature", "max_new_tokens"))
    config = config_from_args(args, MaskEvalConfig, ("temperature", "max_new_tokens"))
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any

_SCALARS = (int, float, str, bool)


def add_config_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config: type,
    names: Sequence[str],
) -> None:
    """One ``--field-name`` flag per field in `names`, with the field's type, default, help and
    choices (``help_field(..., choices=...)``); the value lands in ``args.field_name``."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(config)
    for name in names:
        if name not in fields:
            raise ValueError(f"{config.__name__} has no field {name!r}")
        field = fields[name]
        if "help" not in field.metadata:
            raise ValueError(f"{config.__name__}.{name} has no help; declare it with help_field")
        kind = _scalar_type(hints[name], f"{config.__name__}.{name}")
        text = _fragment(field.metadata["help"]).replace("%", "%%")
        kwargs: dict[str, Any] = {"dest": name, "help": text}
        if _has_default(field):
            kwargs["default"] = _default(field)
            kwargs["help"] += " (default: %(default)s)"
        else:
            kwargs["required"] = True
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            kwargs["metavar"] = name.upper()
        if "choices" in field.metadata:
            kwargs["choices"] = field.metadata["choices"]
            kwargs.pop("metavar", None)
        parser.add_argument("--" + name.replace("_", "-"), **kwargs)


def config_from_args(args: argparse.Namespace, config: type, names: Sequence[str]) -> Any:
    """``config(**{name: args.name})`` for the flags `add_config_arguments` added."""
    return config(**{name: getattr(args, name) for name in names})


def _fragment(sentence: str) -> str:
    """A help sentence as a flag's help fragment: "Token limit." -> "token limit"."""
    text = sentence.strip().rstrip(".")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _has_default(field: dataclasses.Field) -> bool:
    missing = dataclasses.MISSING
    return field.default is not missing or field.default_factory is not missing


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()


def _scalar_type(hint: Any, where: str) -> type:
    """``int``, ``float``, ``str`` or ``bool`` (``X | None`` reads as ``X``)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) == 1:
            hint = inner[0]
    if hint not in _SCALARS:
        raise TypeError(f"{where}: a flag needs int, float, str or bool, not {hint!r}")
    return hint
