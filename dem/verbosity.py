"""How much dem writes to stderr; ``dem -q`` and ``dem -v`` set it once per command.

- `QUIET`: results only (stdout); no progress bars, no info lines on stderr.
- `NORMAL`: dem's own progress bars and info lines. Inside dem's model loads the libraries'
  per-load progress bars and known notices are silenced (`dem.models.quiet.quiet_load`).
- `VERBOSE`: as `NORMAL`, and nothing of the libraries is silenced.

Warnings that are not on dem's list of known notices always show.
"""

from __future__ import annotations

import sys

QUIET, NORMAL, VERBOSE = -1, 0, 1
LEVELS = {"quiet": QUIET, "normal": NORMAL, "verbose": VERBOSE}

_level = NORMAL


def get_verbosity() -> int:
    return _level


def set_verbosity(level: int) -> int:
    """Set the level (`QUIET`, `NORMAL` or `VERBOSE`); returns the previous one."""
    global _level
    if level not in LEVELS.values():
        raise ValueError(f"verbosity must be one of {sorted(LEVELS.values())}, got {level!r}")
    previous, _level = _level, level
    return previous


def progress_enabled(requested: bool = True) -> bool:
    """Whether to show a progress bar the caller asked for: not under `QUIET`."""
    return requested and _level > QUIET


def info(message: str) -> None:
    """An info line on stderr (what dem is doing and why it takes a while); hidden by ``-q``."""
    if _level > QUIET:
        print(message, file=sys.stderr)
