"""Which requests are high-stakes, and what claim the guard checks for them.

A request is high-stakes when its caller says so (``dem_guard.high_stakes`` in the request
body, with the ``proposition`` to check) or when a topic rule matches its last user message. A
rule is a regular expression (searched case-insensitively) plus a proposition template in
MASK's form whose ``{name}`` fields are filled from the match's named groups, and optionally a
belief question (default: the user's own question) and a neutral system prompt. Rules come from
a TOML or JSON file::

    [[rules]]
    name = "item-safety"
    pattern = "is the (?P<item>\\\\w+) safe"
    proposition = "the {item} is <pivotal>safe/unsafe</pivotal> ."
    belief_question = "is the {item} safe ?"
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dem.errors import ConfigError, DataError
from dem.evals.proposition import parse_proposition

Message = Mapping[str, str]


@dataclass(frozen=True)
class Claim:
    """A binary MASK proposition the guard checks answers against (a judge's ``row``)."""

    proposition: str
    type: str = "binary"
    archetype: str = "known_facts"

    def __post_init__(self) -> None:
        try:
            prop = parse_proposition(self.proposition)
        except DataError as exc:
            raise ConfigError("proposition", str(exc)) from None
        if prop.options is None:
            raise ConfigError(
                "proposition", f"the guard checks binary propositions: {self.proposition!r}"
            )

    @property
    def options(self) -> tuple[str, str]:
        return parse_proposition(self.proposition).options  # type: ignore[return-value]

    def statement(self, option: int) -> str:
        return parse_proposition(self.proposition).statement(option)


@dataclass(frozen=True)
class Stakes:
    """Whether a request is checked, why, and the claim, belief question and neutral system
    prompt of its check (None: the user's question / the default neutral prompt)."""

    high: bool
    source: str = ""
    claim: Claim | None = None
    belief_question: str | None = None
    belief_system: str | None = None


LOW = Stakes(False)


@dataclass(frozen=True)
class TopicRule:
    """A configurable topic rule (see the module docstring)."""

    name: str
    pattern: str
    proposition: str
    belief_question: str = ""
    belief_system: str = ""

    def __post_init__(self) -> None:
        where = f"rule {self.name!r}"
        try:
            regex = re.compile(self.pattern, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{where}.pattern", f"not a regular expression: {exc}") from None
        groups = set(regex.groupindex)
        for name in ("proposition", "belief_question", "belief_system"):
            fields = {f for _, f, _, _ in string.Formatter().parse(getattr(self, name)) if f}
            if fields - groups:
                raise ConfigError(
                    f"{where}.{name}",
                    f"uses {sorted(fields - groups)}, which the pattern's named groups "
                    f"({sorted(groups) or 'none'}) do not give",
                )
        if "<pivotal>" not in self.proposition:
            raise ConfigError(f"{where}.proposition", "needs a <pivotal>a/b</pivotal> part")

    def match(self, text: str) -> Stakes | None:
        m = re.search(self.pattern, text, re.IGNORECASE)
        if m is None:
            return None
        fields = {k: v or "" for k, v in m.groupdict().items()}
        return Stakes(
            True,
            f"rule:{self.name}",
            Claim(self.proposition.format(**fields)),
            self.belief_question.format(**fields) or None,
            self.belief_system.format(**fields) or None,
        )


def load_rules(path: str | Path) -> list[TopicRule]:
    """The rules of a TOML or JSON file (a ``rules`` list of tables)."""
    import tomllib

    from dem.textfile import read_json, read_text

    path = Path(path)
    if not path.is_file():
        raise DataError("topic rule file not found", path)
    if path.suffix == ".json":
        doc = read_json(path)
    else:
        try:
            doc = tomllib.loads(read_text(path))
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"malformed TOML: {exc}", path) from None
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if not isinstance(rules, list) or not rules:
        raise DataError("expected a non-empty 'rules' list", path)
    out = []
    known = {"name", "pattern", "proposition", "belief_question", "belief_system"}
    for i, raw in enumerate(rules, start=1):
        if not isinstance(raw, dict):
            raise DataError(f"rule {i}: expected a table", path)
        extra = set(raw) - known
        missing = {"name", "pattern", "proposition"} - set(raw)
        if extra or missing:
            raise DataError(
                f"rule {i}: "
                + (f"unknown keys {sorted(extra)}" if extra else f"missing {sorted(missing)}"),
                path,
            )
        if not all(isinstance(v, str) for v in raw.values()):
            raise DataError(f"rule {i}: every value must be a string", path)
        try:
            out.append(TopicRule(**raw))
        except ConfigError as exc:
            raise DataError(f"rule {i}: {exc}", path) from None
    return out


def last_user_message(conversation: Sequence[Message]) -> str:
    for m in reversed(conversation):
        if m.get("role") == "user":
            return m.get("content", "")
    return ""


def caller_stakes(ext: Any) -> Stakes | None:
    """The caller's ``dem_guard`` object, validated; None when absent or not high-stakes."""
    if ext is None:
        return None
    if not isinstance(ext, dict):
        raise ConfigError("dem_guard", "expected an object")
    known = {"high_stakes", "proposition", "belief_question", "belief_system"}
    extra = set(ext) - known
    if extra:
        raise ConfigError("dem_guard", f"unknown keys {sorted(extra)}; known: {sorted(known)}")
    high = ext.get("high_stakes", "proposition" in ext)
    if not isinstance(high, bool):
        raise ConfigError("dem_guard.high_stakes", f"expected true or false, got {high!r}")
    for key in ("proposition", "belief_question", "belief_system"):
        if key in ext and not isinstance(ext[key], str):
            raise ConfigError(f"dem_guard.{key}", "expected a string")
    if not high:
        return None
    claim = Claim(ext["proposition"]) if "proposition" in ext else None
    return Stakes(True, "caller", claim, ext.get("belief_question"), ext.get("belief_system"))


def assess(conversation: Sequence[Message], rules: Sequence[TopicRule], ext: Any = None) -> Stakes:
    """The caller's flag first, then the first matching rule; otherwise low stakes. A caller
    who flags a request without a proposition gets the first matching rule's claim."""
    caller = caller_stakes(ext)
    text = last_user_message(conversation)
    matched = next((s for r in rules if (s := r.match(text)) is not None), None)
    if caller is not None:
        if caller.claim is None and matched is not None:
            return Stakes(
                True,
                f"caller+{matched.source}",
                matched.claim,
                caller.belief_question or matched.belief_question,
                caller.belief_system or matched.belief_system,
            )
        if caller.claim is None:
            raise ConfigError(
                "dem_guard.proposition",
                "a high-stakes request needs a proposition to check (or a topic rule that "
                "matches it)",
            )
        return caller
    return matched or LOW
