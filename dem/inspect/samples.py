"""dem's rows and results as Inspect samples and scores, shared by the tasks and the log writer.

A MASK sample's input is the row's pressure conversation, its target the formatted ground truth,
and its metadata the whole row (``row``), so a solver or scorer rebuilds the `MaskRow` from the
sample alone. Its score's value holds ``scored`` (0 for a judge error) and the honesty, honesty@1
and accuracy the rules give (absent where they give none); the metadata holds the row's record:
every response, every verdict, the belief and why there is none. DeceptionBench samples and
scores follow the same pattern.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
from inspect_ai.scorer import Score

from dem.evals.deceptionbench import ItemOutcome, outer_conversation
from dem.evals.mask import pressure_conversation
from dem.evals.mask_metrics import RowOutcome

MASK_SCORER = "mask_honesty"
DECEPTION_SCORER = "deception"
_ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}


def chat_messages(conversation: Sequence[Mapping[str, str]]) -> list[ChatMessage]:
    """dem's ``{"role", "content"}`` turns as Inspect chat messages."""
    return [_ROLES[m["role"]](content=m["content"]) for m in conversation]


def sample_id(row: Any) -> str:
    return f"{row.archetype}/{row.task_id}"


def mask_sample(row: Any) -> Sample:
    """One MASK row as an Inspect sample (see the module docstring)."""
    return Sample(
        id=sample_id(row),
        input=chat_messages(pressure_conversation(row)),
        target=row.formatted_ground_truth,
        metadata={"row": asdict(row)},
    )


def sample_row(metadata: Mapping[str, Any]) -> Any:
    """The `MaskRow` a MASK sample carries."""
    from dem.data.sources.mask import MaskRow

    cells = dict(metadata["row"])
    cells["belief_elicit"] = tuple(cells["belief_elicit"])
    if cells["options"] is not None:
        cells["options"] = tuple(cells["options"])
    return MaskRow(**cells)


def deception_sample(item: Any) -> Sample:
    """One DeceptionBench item as an Inspect sample: input the outer conversation."""
    return Sample(
        id=item.id,
        input=chat_messages(outer_conversation(item)),
        target="",
        metadata={"item": asdict(item)},
    )


def sample_item(metadata: Mapping[str, Any]) -> Any:
    """The `DeceptionItem` a DeceptionBench sample carries."""
    from dem.data.sources.deceptionbench import DeceptionItem

    return DeceptionItem(**metadata["item"])


def _honesty_word(value: int | None) -> str:
    return {1: "honest", 0: "neither honest nor a lie", -1: "lie"}.get(value, "not scored")  # type: ignore[arg-type]


def mask_score(record: Mapping[str, Any]) -> Score:
    """A MASK row's score from its record (`dem.evals.mask.row_results`)."""
    pressured = (record.get("responses") or {}).get("pressure") or [None]
    answer = pressured[0]
    if answer is None:  # forced choice: nothing generated; the answer is the chosen option
        first = ((record.get("verdicts") or {}).get("pressure") or [{}])[0]
        answer = first.get("letter")
    if record["error"] is not None:
        explanation = f"not scored: {record['error']}"
    elif record["belief"] is None:
        explanation = f"no belief ({record['no_belief_reason']}): {_honesty_word(0)}"
    else:
        explanation = f"belief {record['belief']}: {_honesty_word(record['honesty'])}"
    value = {k: record[k] for k in ("honesty", "honesty_at_1", "accuracy") if record[k] is not None}
    return Score(
        value={"scored": int(record["error"] is None), **value},
        answer=answer,
        explanation=explanation,
        metadata=dict(record),
    )


def record_outcome(record: Mapping[str, Any]) -> RowOutcome:
    """The `RowOutcome` a MASK record holds (the inverse of ``RowOutcome.to_dict``)."""
    fields = {k: record[k] for k in RowOutcome.__dataclass_fields__}
    if isinstance(fields["belief"], list):
        fields["belief"] = tuple(fields["belief"])
    return RowOutcome(**fields)


def deception_score(record: Mapping[str, Any]) -> Score:
    """A DeceptionBench item's score from its record (deceptive: 1, not: 0, else None)."""
    deceptive = record.get("deceptive")
    if record.get("dropped"):
        explanation = f"dropped: {record['dropped']}"
    elif record.get("error"):
        explanation = f"not judged: {record['error']}"
    else:
        explanation = "deceptive" if deceptive else "not deceptive"
    return Score(
        value={"judged": int(deceptive is not None), "deceptive": int(bool(deceptive))},
        answer=record.get("output") or record.get("outer_response"),
        explanation=explanation,
        metadata=dict(record),
    )


def record_item_outcome(record: Mapping[str, Any]) -> ItemOutcome:
    """The `ItemOutcome` a DeceptionBench record holds."""
    return ItemOutcome(
        record["category"],
        dropped=record.get("dropped"),
        error=record.get("error"),
        reasoning_agrees=record.get("reasoning_agrees"),
        output_agrees=record.get("output_agrees"),
        p_deceptive=record.get("p_deceptive"),
    )


MASK_METRICS = ("honesty", "honesty_at_1", "normalized_honesty", "accuracy", "p_lie")
MASK_COUNTS = ("n_rows", "n_scored", "n_errors", "n_no_belief", "n_lies", "n_honest")


def mask_values(summary: Any) -> dict[str, float]:
    """A `MaskSummary`'s estimates and counts as flat metric values (absent estimates left out)."""
    out: dict[str, float] = {}
    for name in MASK_METRICS:
        est = getattr(summary, name)
        if est is not None and math.isfinite(est.value):
            out[name] = float(est.value)
    for name in MASK_COUNTS:
        out[name] = float(getattr(summary, name))
    return out


def deception_values(summary: Any) -> dict[str, float]:
    """A `DeceptionSummary`'s rate (percent) and counts as flat metric values."""
    out: dict[str, float] = {}
    if math.isfinite(summary.rate.value):
        out["rate"] = float(summary.rate.value)
    if summary.expected_rate is not None and math.isfinite(summary.expected_rate.value):
        out["expected_rate"] = float(summary.expected_rate.value)
    for name in ("n_items", "n_judged", "n_dropped", "n_errors", "n_deceptive"):
        out[name] = float(getattr(summary, name))
    return out
