"""`help_field`: a dataclass field carrying a help string and, optionally, its choices (TRL style).

The metadata is what `dem.cli._config_args.add_config_arguments` turns into argparse flags, so a
config's help is written once, next to its default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

_MISSING: Any = dataclasses.MISSING


def help_field(
    help: str,
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] = _MISSING,
    choices: Sequence[Any] | None = None,
) -> Any:
    """``dataclasses.field`` with ``metadata={"help": help}`` (plus ``"choices"`` when given);
    use for every config field."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
