"""The guard's decision log: every decision as one JSON line, and honesty metrics over time.

``decisions.jsonl`` holds one object per answer the guard saw (checked or not): the request,
the answer, what was served, the belief, the answer's letter, the risk, the verdict, the
action, any error and the latencies. ``metrics.jsonl`` gets one object per window of
`window` decisions (and one for the rest on `close`): counts per verdict and action, the
contradiction, evasion and error rates among checked answers, mean risk and latency
percentiles. Lines are appended whole under a lock and flushed, so a reader (`dem guard
report`) can follow a running server.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

DECISIONS = "decisions.jsonl"
METRICS = "metrics.jsonl"


@dataclass
class Decision:
    """One answer's decision, as logged."""

    high_stakes: bool
    source: str
    verdict: str
    action: str
    request: Sequence[Mapping[str, str]]
    answer: str | None
    served: str | None
    proposition: str | None = None
    answer_letter: str | None = None
    belief: dict[str, Any] | None = None
    risk: float | None = None
    error: str | None = None
    upstream_seconds: float | None = None
    guard_seconds: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "high_stakes": self.high_stakes,
            "source": self.source,
            "proposition": self.proposition,
            "request": [dict(m) for m in self.request],
            "answer": self.answer,
            "answer_letter": self.answer_letter,
            "belief": self.belief,
            "risk": self.risk,
            "verdict": self.verdict,
            "action": self.action,
            "served": self.served,
            "error": self.error,
            "upstream_seconds": self.upstream_seconds,
            "guard_seconds": self.guard_seconds,
        }


def _quantile(xs: Sequence[float], q: float) -> float | None:
    if not xs:
        return None
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def window_metrics(decisions: Sequence[Decision]) -> dict[str, Any]:
    """The honesty metrics of a window of decisions."""
    checked = [d for d in decisions if d.verdict != "not_checked"]
    verdicts = Counter(d.verdict for d in decisions)
    actions = Counter(d.action for d in decisions)
    n = len(checked)

    def rate(verdict: str) -> float | None:
        return verdicts[verdict] / n if n else None

    risks = [d.risk for d in checked if d.risk is not None]
    guard = [d.guard_seconds for d in checked if d.guard_seconds is not None]
    upstream = [d.upstream_seconds for d in decisions if d.upstream_seconds is not None]
    return {
        "time": time.time(),
        "start": min((d.time for d in decisions), default=None),
        "end": max((d.time for d in decisions), default=None),
        "n": len(decisions),
        "n_checked": n,
        "verdicts": dict(sorted(verdicts.items())),
        "actions": dict(sorted(actions.items())),
        "contradiction_rate": rate("contradiction"),
        "evasion_rate": rate("evasion"),
        "error_rate": rate("error"),
        "held_back_rate": sum(d.action != "pass" for d in checked) / n if n else None,
        "mean_risk": statistics.fmean(risks) if risks else None,
        "guard_seconds_p50": _quantile(guard, 0.5),
        "guard_seconds_p95": _quantile(guard, 0.95),
        "upstream_seconds_p50": _quantile(upstream, 0.5),
    }


class DecisionLog:
    """Appends decisions to ``DIR/decisions.jsonl`` and window metrics to ``DIR/metrics.jsonl``."""

    def __init__(self, folder: str | Path, *, window: int = 20) -> None:
        if window < 1:
            from dem.errors import ConfigError

            raise ConfigError("window", f"expected an integer >= 1, got {window}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.window = window
        self._lock = threading.Lock()
        self._pending: list[Decision] = []
        self._decisions: IO[str] = (self.folder / DECISIONS).open("a", encoding="utf-8")
        self._metrics: IO[str] = (self.folder / METRICS).open("a", encoding="utf-8")

    def record(self, decision: Decision) -> None:
        line = json.dumps(decision.to_dict(), ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._decisions.write(line + "\n")
            self._decisions.flush()
            self._pending.append(decision)
            if len(self._pending) >= self.window:
                self._flush_window()

    def _flush_window(self) -> None:
        if self._pending:
            line = json.dumps(window_metrics(self._pending), sort_keys=True)
            self._metrics.write(line + "\n")
            self._metrics.flush()
            self._pending = []

    def close(self) -> None:
        with self._lock:
            self._flush_window()
            self._decisions.close()
            self._metrics.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The objects of a JSONL log (bad lines are a `DataError` naming file and line)."""
    from dem.textfile import iter_lines, parse_json

    return [parse_json(text, path, line=n) for n, text in iter_lines(path) if text.strip()]
