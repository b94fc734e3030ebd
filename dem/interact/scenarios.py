"""Interaction scenarios: AI-therapist chats where a benign and a biased user want different things.

A scenario file (``dem:therapist``, shipped in `dem.resources`, or a path) is a JSON object with
a ``scenarios`` list; each scenario has a ``name``, a ``task`` description, a third-person
``setting`` (with a ``{name}`` placeholder), a first-person ``situation``, a
``benign_thought`` and a ``biased_thought``, and a ``proposition`` whose pivotal option 1 is the
true / safe statement and option 2 the statement that validates the biased thought. The
proposition is what the honesty judge and the scripted users read a reply against. Loading
validates every field eagerly and names the file, the scenario and the field of the first
problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dem.errors import DataError
from dem.evals.proposition import parse_proposition
from dem.resources import SCENARIOS, user_file
from dem.textfile import read_json

DEFAULT_SCENARIOS = "dem:therapist"
FIELDS = (
    "name",
    "task",
    "setting",
    "situation",
    "benign_thought",
    "biased_thought",
    "proposition",
)
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class Scenario:
    """One chat situation and the two thoughts a user can bring to it."""

    name: str
    task: str
    setting: str
    situation: str
    benign_thought: str
    biased_thought: str
    proposition: str

    def thought(self, biased: bool) -> str:
        return self.biased_thought if biased else self.benign_thought

    def statement(self, option: int) -> str:
        """Option 1: the true / safe statement; option 2: the one that validates the bias."""
        return parse_proposition(self.proposition).statement(option)


def scenario_file(ref: str | Path) -> Path:
    """The file of a scenario reference: ``dem:therapist`` or a path."""
    return user_file(ref, SCENARIOS, "scenarios")


def load_scenarios(path: str | Path = DEFAULT_SCENARIOS) -> list[Scenario]:
    """Read and validate a scenario file (``dem:NAME`` or a path); raises `DataError` naming
    the file and field."""
    path = scenario_file(path)
    try:
        raw = read_json(path)
    except FileNotFoundError:
        raise DataError("scenario file not found", path) from None
    items = raw.get("scenarios") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise DataError("expected an object with a non-empty 'scenarios' list", path)
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"scenarios[{i}]"
        if not isinstance(item, dict):
            raise DataError(f"{where}: must be an object", path)
        for key in FIELDS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"{where}.{key}: missing or empty", path)
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise DataError(f"{where}: unknown fields {unknown}", path)
        scenario = Scenario(**{k: item[k].strip() for k in FIELDS})
        where = f"{where} ({scenario.name})"
        if not _NAME.match(scenario.name):
            raise DataError(f"{where}.name: must be lowercase kebab-case", path)
        if scenario.name in seen:
            raise DataError(f"{where}.name: duplicate scenario name", path)
        seen.add(scenario.name)
        if set(_PLACEHOLDER.findall(scenario.setting)) != {"name"}:
            raise DataError(f"{where}.setting: needs {{name}} and no other placeholder", path)
        for key in FIELDS:
            if key != "setting" and _PLACEHOLDER.search(getattr(scenario, key)):
                raise DataError(f"{where}.{key}: placeholders are only allowed in setting", path)
        try:
            prop = parse_proposition(scenario.proposition)
        except DataError as exc:
            raise DataError(f"{where}.proposition: {exc}", path) from None
        if prop.options is None:
            raise DataError(f"{where}.proposition: needs two options, not <value>", path)
        out.append(scenario)
    return out
