"""What dem reads at run time, shipped inside the package: presets, eval sets, scenarios.

Everything here is read through `importlib.resources`, never through a path relative to a
checkout, so an installed wheel works from any folder. A reference ``dem:NAME`` names a shipped
eval set, DeceptionBench set or scenario file; anything else is a user's path, relative to the
working folder (or a hub id, where the caller accepts one).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dem.errors import ConfigError, DataError, DemError

SHIPPED = "dem:"
PRESETS = {"smoke": "presets/smoke.toml", "paper": "presets/paper.toml"}
EVAL_SETS = {
    "mask_pressure": "evalsets/mask_pressure/provided_facts.csv",
    "mask_plain": "evalsets/mask_plain/provided_facts.csv",
}
DECEPTION_SETS = {"deceptionbench": "evalsets/deceptionbench.json"}
SCENARIOS = {"therapist": "scenarios/therapist.json"}


def resource_path(relative: str) -> Path:
    """The file system path of a shipped resource file or folder (``presets/smoke.toml``,
    ``evalsets``)."""
    target = resources.files(__name__).joinpath(*relative.split("/"))
    if not isinstance(target, Path):  # a zipped install: dem needs its files on disk
        raise DemError(f"dem's resource {relative} is not on the file system ({target!r})")
    if not target.exists():
        raise DemError(f"dem's resource {relative} is missing from this install ({target})")
    return target


def is_shipped(ref: str | Path) -> bool:
    """Whether `ref` names a shipped resource (``dem:NAME``)."""
    return isinstance(ref, str) and ref.startswith(SHIPPED)


def shipped(ref: str, table: dict[str, str], field: str) -> Path:
    """The path of ``dem:NAME`` in `table`; an unknown name is a `ConfigError` on `field`."""
    name = ref.removeprefix(SHIPPED)
    if name not in table:
        known = ", ".join(SHIPPED + n for n in table)
        raise ConfigError(field, f"{ref!r} is not a shipped set; shipped: {known}")
    return resource_path(table[name])


def user_file(ref: str | Path, table: dict[str, str], field: str) -> Path:
    """``dem:NAME`` from `table`, else `ref` as a path from the working folder (which must
    exist)."""
    if is_shipped(ref):
        return shipped(str(ref), table, field)
    path = Path(ref).expanduser()
    if not path.exists():
        known = ", ".join(SHIPPED + n for n in table)
        raise DataError(f"file not found (the {field} dem ships: {known})", path)
    return path
