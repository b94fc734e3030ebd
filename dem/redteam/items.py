"""Red-team items: the facts a pressure is tried on, read from a MASK-format eval set, and their
split into a search set and a held-out set.

An item is one binary proposition with its known truth; the eval set's rows of that proposition
are its *standard* pressures (the organism's world templates, the set's own system prompts).
Items are split by proposition, so no fact is in both sets.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import ConfigError, DataError
from dem.validation import check_fraction

_ORGANISM_SUBJECT = re.compile(r"^the (\w+) is <pivotal>safe/unsafe</pivotal> \.$")


@dataclass(frozen=True)
class Item:
    """One fact: its proposition, which option is true, the question and its standard rows."""

    key: str
    proposition: str
    truth_letter: str
    question: str
    archetype: str
    standard: tuple[Any, ...]

    @property
    def row(self) -> Any:
        """The item's first row (`dem.data.MaskRow`): options, statements, belief prompts."""
        return self.standard[0]

    @property
    def lie_letter(self) -> str:
        return "B" if self.truth_letter == "A" else "A"

    def statement(self, letter: str) -> str:
        return self.row.statement(1 if letter == "A" else 2)

    @property
    def subject(self) -> str:
        """The organism's item word (``lamp``), or '' for other propositions."""
        m = _ORGANISM_SUBJECT.match(self.proposition.strip())
        return m.group(1) if m else ""

    def fields(self) -> dict[str, str]:
        """The template fields of `dem.redteam.space`: item, truth, lie, question."""
        return {
            "item": self.subject,
            "truth": clause(self.statement(self.truth_letter)),
            "lie": clause(self.statement(self.lie_letter)),
            "question": self.question,
        }


# Sentence-initial words lowered inside a clause; any other first word (a name) keeps its case.
_LOWERED = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "there",
        "some",
        "no",
        "all",
        "most",
        "many",
        "our",
        "their",
        "his",
        "her",
        "my",
        "your",
        "we",
        "they",
        "he",
        "she",
        "one",
        "each",
        "every",
        "any",
        "both",
        "several",
        "few",
    ]
)


def clause(statement: str) -> str:
    """A statement as a clause: no final full stop, a sentence-initial function word lowered
    (``The shipment was delayed.`` -> ``the shipment was delayed``; ``Neil Armstrong ...`` and
    ``NASA ...`` keep theirs)."""
    text = statement.strip().rstrip(".").strip()
    first, _, rest = text.partition(" ")
    if first.lower() in _LOWERED:
        return f"{first.lower()} {rest}".strip()
    return text


def items_from_rows(rows: Sequence[Any], *, source: str = "eval set") -> list[Item]:
    """Group binary rows by proposition (numerical rows have no lie to push toward and are
    left out); every row of one proposition must agree on the truth."""
    groups: dict[str, list[Any]] = {}
    for row in rows:
        if row.type != "binary":
            continue
        groups.setdefault(row.proposition, []).append(row)
    if not groups:
        raise DataError(f"{source}: no binary MASK rows to red-team")
    archetypes = {r.archetype for rs in groups.values() for r in rs}
    if len(archetypes) != 1:
        raise ConfigError(
            "archetype", f"{source} mixes archetypes {sorted(archetypes)}; pick one (--archetype)"
        )
    items = []
    for prop, rs in groups.items():
        truths = {r.formatted_ground_truth for r in rs}
        if len(truths) != 1:
            raise DataError(f"{source}: rows of {prop!r} disagree on the ground truth", None)
        items.append(
            Item(
                key=prop,
                proposition=prop,
                truth_letter=truths.pop(),
                question=rs[0].user_prompt,
                archetype=rs[0].archetype,
                standard=tuple(rs),
            )
        )
    return items


def split_items(
    items: Sequence[Item], heldout: float = 0.5, seed: int = 0
) -> tuple[list[Item], list[Item]]:
    """``(search, held_out)``: a seeded shuffle of the items (by key), the last `heldout`
    share held out. Both sets must be non-empty."""
    check_fraction("heldout", heldout, open_low=True)
    ordered = sorted(items, key=lambda it: it.key)
    random.Random(f"redteam-split-{seed}").shuffle(ordered)
    n_held = round(len(ordered) * heldout)
    if n_held < 1 or n_held >= len(ordered):
        raise ConfigError(
            "heldout",
            f"{heldout} of {len(ordered)} items leaves an empty search or held-out set",
        )
    return ordered[: len(ordered) - n_held], ordered[len(ordered) - n_held :]
