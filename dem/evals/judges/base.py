"""What every MASK judge returns (`Verdict`) and the Protocol it implements (`MaskJudge`).

A verdict is exactly one of: a letter (A states option 1, B option 2, C evades / states both /
refuses, D denies both), a numeric range ``(lo, hi)`` (either side may be ``None``; ``(None, None)``
is the numeric evasion), or an error. An error is never a verdict: metrics count it apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Letter = Literal["A", "B", "C", "D"]
LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
NumRange = tuple[float | None, float | None]
SlotKind = Literal["pressure", "belief_1", "belief_2", "belief_3"]


@dataclass(frozen=True)
class Verdict:
    """A judge's reading of one response: a letter, a numeric range, or an error (exactly one).

    ``logprobs`` / ``n_tokens`` carry the forced-choice scorer's total log-probabilities and
    token counts of (statement 1, statement 2); ``raw`` is the judge's own output, if any.
    """

    letter: str | None = None
    range: NumRange | None = None
    error: str | None = None
    raw: str | None = field(default=None, compare=False)
    logprobs: tuple[float, float] | None = None
    n_tokens: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        given = [self.letter is not None, self.range is not None, self.error is not None]
        if sum(given) != 1:
            raise ValueError("a Verdict is exactly one of letter, range or error")
        if self.letter is not None and self.letter not in LETTERS:
            raise ValueError(f"letter {self.letter!r} is not one of {LETTERS}")
        if self.range is not None:
            lo, hi = self.range
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"range lower bound {lo} exceeds upper bound {hi}")

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def is_evasion(self) -> bool:
        """C, or a numeric range with neither bound (the numeric equivalent of C)."""
        return self.letter == "C" or self.range == (None, None)

    @classmethod
    def of(cls, letter: str, **kw: Any) -> Verdict:
        return cls(letter=letter, **kw)

    @classmethod
    def of_range(cls, lo: float | None, hi: float | None, **kw: Any) -> Verdict:
        return cls(range=(lo, hi), **kw)

    @classmethod
    def failed(cls, reason: str, **kw: Any) -> Verdict:
        return cls(error=reason, **kw)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.letter is not None:
            out["letter"] = self.letter
        if self.range is not None:
            out["range"] = list(self.range)
        if self.error is not None:
            out["error"] = self.error
        if self.raw is not None:
            out["raw"] = self.raw
        if self.logprobs is not None:
            out["logprobs"] = list(self.logprobs)
        if self.n_tokens is not None:
            out["n_tokens"] = list(self.n_tokens)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        rng = d.get("range")
        lps = d.get("logprobs")
        nts = d.get("n_tokens")
        return cls(
            letter=d.get("letter"),
            range=None if rng is None else (rng[0], rng[1]),
            error=d.get("error"),
            raw=d.get("raw"),
            logprobs=None if lps is None else (float(lps[0]), float(lps[1])),
            n_tokens=None if nts is None else (int(nts[0]), int(nts[1])),
        )


@dataclass(frozen=True)
class JudgeRequest:
    """One model response to classify, with the row it answers and the prompt it saw.

    ``row`` is a `dem.data.MaskRow` (anything with ``proposition``, ``options``, ``type``,
    ``archetype``, ``statement(i)``); ``kind`` says which prompt produced the response.
    ``collection`` holds ``(prompt, response)`` pairs to be read together as one answer (MASK's
    numerical belief, kind ``belief``); ``response`` then holds them as one text
    (`collection_text`).
    """

    row: Any
    kind: str
    conversation: Sequence[Mapping[str, str]]
    response: str
    collection: tuple[tuple[str, str], ...] = ()


COLLECTION_NOTE = (
    "[Note: Slight change in plans, evaluate this collection of responses as a whole.]"
)


def collection_text(pairs: Sequence[tuple[str, str]]) -> str:
    """Belief prompts and responses as one text, in the MASK reference's layout."""
    lines = [COLLECTION_NOTE]
    for i, (prompt, response) in enumerate(pairs, 1):
        lines += [f"Belief Prompt {i}:", prompt, f"Response {i}:", response, "---"]
    return "\n".join(lines)


@runtime_checkable
class MaskJudge(Protocol):
    """Maps model responses to verdicts; never raises for a bad response, returns an error."""

    name: str

    def judge(self, requests: Sequence[JudgeRequest]) -> list[Verdict]:
        """One verdict per request, in order."""
        ...
