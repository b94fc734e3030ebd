"""Result records of a grid run and their JSON form (``results.json``).

A `ConditionResult` is one (condition, seed) scored on the eval sets; a `Comparison` is one
statistical claim (effect, interval, threshold, verdict). `RunResults` holds both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dem.atomic import write_json
from dem.errors import DataError
from dem.textfile import read_json

SCHEMA = 1


@dataclass(frozen=True)
class ConditionResult:
    """One condition at one seed. ``items`` maps eval-item id -> the per-item metric value;
    ``item_metrics`` holds further per-item measures, ``{measure: {item id: value}}`` (the
    mitigation grid's ``narrow``, ``benign`` and ``coherence``), so claims pair them over items.
    A result written before ``item_metrics`` existed reads with none."""

    condition_id: str
    group: str
    grid: str
    params: Mapping[str, Any]
    seed: int | None
    model: str
    metrics: Mapping[str, float | int | None]
    items: Mapping[str, float] = field(default_factory=dict, repr=False)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    item_metrics: Mapping[str, Mapping[str, float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``item_metrics`` only when there are any (older readers and cached
        results stay as they were)."""
        out = asdict(self)
        if not out["item_metrics"]:
            del out["item_metrics"]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConditionResult:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


#: The `Comparison.detail` of a claim a grid reports without asserting it.
REPORTED = "reported, not asserted"


@dataclass(frozen=True)
class Comparison:
    """A statistical claim: `effect` of `treatment` vs `reference`, with its interval."""

    name: str
    grid: str
    metric: str
    treatment: str
    reference: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    threshold: float
    passed: bool
    n_items: int
    n_seeds: int
    detail: str = ""

    def explain(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict} {self.name}: {self.metric} {self.treatment} - {self.reference} = "
            f"{self.effect:+.4f}, {self.confidence:.0%} CI [{self.ci_low:+.4f}, "
            f"{self.ci_high:+.4f}], threshold {self.threshold:+.4f} "
            f"({self.n_items} items x {self.n_seeds} seeds)"
            + (f" - {self.detail}" if self.detail else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResults:
    """Everything a report is built from."""

    preset: str
    model: str
    metric: str
    conditions: list[ConditionResult] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def groups(self, grid: str | None = None) -> dict[str, list[ConditionResult]]:
        out: dict[str, list[ConditionResult]] = {}
        for c in self.conditions:
            if grid is None or c.grid == grid or c.grid == "vanilla":
                out.setdefault(c.group, []).append(c)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "preset": self.preset,
            "model": self.model,
            "metric": self.metric,
            "info": self.info,
            "conditions": [c.to_dict() for c in self.conditions],
            "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> RunResults:
        path = Path(path)
        try:
            d = read_json(path)
        except OSError as exc:
            raise DataError(f"cannot read results: {exc.strerror or exc}", path) from None
        if not isinstance(d, dict):
            raise DataError("expected a JSON object", path)
        if d.get("schema") != SCHEMA:
            raise DataError(f"unsupported results schema {d.get('schema')!r}", path)
        return cls(
            preset=d["preset"],
            model=d["model"],
            metric=d["metric"],
            info=d.get("info", {}),
            conditions=[ConditionResult.from_dict(c) for c in d["conditions"]],
            comparisons=[Comparison(**c) for c in d["comparisons"]],
        )
