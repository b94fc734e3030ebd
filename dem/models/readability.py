"""Can a model read a text set at all? The share of its tokens the tokenizer maps to unknown.

The organism's word-level vocabulary reads English as mostly its unknown token: scored on an
English set, its figures are at chance however tight their intervals. `Readability` measures
that share; `check_readable` refuses a set above a bound before anything is scored. Byte-level
tokenizers (every hub chat model) have no unknown token and always read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import DemError

#: The default bound on the unknown-token share of a set a model is scored or audited on.
MAX_UNKNOWN = 0.05


class UnreadableError(DemError):
    """The model's tokenizer maps too much of a set to its unknown token."""


@dataclass(frozen=True)
class Readability:
    """The share of the texts' tokens the tokenizer maps to its unknown token."""

    unknown_share: float | None  # None: the tokenizer has no unknown token (byte-level)
    tokens: int
    samples: int

    def to_dict(self) -> dict[str, Any]:
        share = None if self.unknown_share is None else round(self.unknown_share, 4)
        return {"unknown_share": share, "tokens": self.tokens, "samples": self.samples}


def readability_of(tokenizer: Any, texts: Sequence[str]) -> Readability:
    """`Readability` of `texts` (one per sample) under `tokenizer`."""
    unk = getattr(tokenizer, "unk_token_id", None)
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    total = sum(len(x) for x in ids)
    if unk is None:
        return Readability(None, total, len(texts))
    unknown = sum(1 for x in ids for t in x if t == unk)
    return Readability(unknown / total if total else 0.0, total, len(texts))


def check_readable(
    tokenizer: Any, texts: Sequence[str], *, model: str, what: str, max_unknown: float, option: str
) -> Readability:
    """`Readability` of `texts`; an `UnreadableError` naming `model`, `what` and `option` when
    the unknown share is above `max_unknown`."""
    read = readability_of(tokenizer, texts)
    share = read.unknown_share
    if share is not None and share > max_unknown:
        raise UnreadableError(
            f"{model} cannot read {what}: {share:.1%} of its {read.tokens} tokens are unknown to "
            f"the model's tokenizer (> {max_unknown:.1%}, {option}); its scores would be at "
            "chance, whatever their intervals say"
        )
    return read
