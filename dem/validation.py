"""Argument and config checks with one message shape: ``FIELD: expected ..., got VALUE (TYPE)``.

`check_type` checks a value against a dataclass field's annotation (the types dem's configs use:
``int``, ``float``, ``str``, ``bool``, ``tuple[X, ...]``, ``dict[str, Any]``, ``X | None``);
`check_int` and `check_fraction` check numbers. Each raises `dem.errors.ConfigError` naming the
field.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from dem.errors import ConfigError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [_describe(a) for a in args if a is not type(None)]
        return " or ".join(inner) + (" or none" if type(None) in args else "")
    if origin is tuple:
        return f"a list of {_plural(args[0])}"
    if origin is dict:
        return "a table"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _plural(annotation: Any) -> str:
    return {int: "integers", float: "numbers", str: "strings", bool: "booleans"}.get(
        annotation, _describe(annotation)
    )


def _matches(value: Any, annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if annotation is type(None):
        return value is None
    if origin is tuple:
        return isinstance(value, list | tuple) and all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if annotation is int:
        return _is_int(value)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def check_type(field: str, value: Any, annotation: Any) -> Any:
    """`value` when it fits `annotation` (an int is a float; a list is a tuple), else a
    `ConfigError` on `field` that names the expected type."""
    if not _matches(value, annotation):
        raise ConfigError(
            field,
            f"expected {_describe(annotation)}, got {value!r} ({type(value).__name__})",
        )
    return value


def check_int(field: str, value: Any, minimum: int | None = None) -> int:
    """An integer (not a bool), at least `minimum` when given."""
    if not _is_int(value):
        raise ConfigError(field, f"expected an integer, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ConfigError(field, f"expected an integer >= {minimum}, got {value}")
    return value


def check_fraction(field: str, value: Any, *, open_low: bool = False) -> float:
    """A number in [0, 1] (in (0, 1] with `open_low`)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not (0 < value <= 1 if open_low else 0 <= value <= 1):
        bounds = "(0, 1]" if open_low else "[0, 1]"
        raise ConfigError(field, f"expected a number in {bounds}, got {value!r}")
    return float(value)


def check_fields(obj: Any) -> None:
    """Check every field of the dataclass instance `obj` against its annotation (call first
    thing in ``__post_init__``, so range checks never meet a value of the wrong type)."""
    import dataclasses

    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        check_type(f.name, getattr(obj, f.name), hints[f.name])
