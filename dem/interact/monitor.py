"""The feedback-population monitor: which users reward dishonesty, from their feedback alone.

Before self-training, every rated reply whose stance the honesty judge decided (A: the true
statement, B: the validating one) is evidence about its rater: a score above the scale's midpoint
for a true reply, or below it for a validating one, points to a benign user; the reverse points
to a biased one. A user whose summed evidence points to bias is flagged; users without decided
replies are undetermined. In simulation, where each user's type is known, the monitor also
reports precision and recall. Flagged users' trajectories can be dropped before selection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from dem.interact.rollout import Trajectory
from dem.interact.users import SCALE

MIDPOINT = (SCALE[0] + SCALE[1]) / 2


@dataclass(frozen=True)
class MonitorReport:
    """What the monitor concluded about a population."""

    users: int
    decided: int
    flagged: tuple[int, ...]
    estimated_biased_fraction: float | None
    true_biased_fraction: float
    precision: float | None
    recall: float | None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["flagged"] = list(self.flagged)
        return out


def evidence(trajectories: Sequence[Trajectory]) -> dict[int, float]:
    """Per user id: summed evidence of bias (> 0 biased); users with none are absent."""
    out: dict[int, float] = defaultdict(float)
    for t in trajectories:
        for stance, score in zip(t.stances, t.scores, strict=False):
            if stance not in ("A", "B") or score is None:
                continue
            sign = -1.0 if stance == "A" else 1.0
            out[t.user_id] += sign * (score - MIDPOINT)
    return dict(out)


def monitor(trajectories: Sequence[Trajectory]) -> MonitorReport:
    """Flag the users whose ratings reward validating replies over true ones."""
    ev = evidence(trajectories)
    truth = {t.user_id: t.biased for t in trajectories}
    flagged = tuple(sorted(u for u, e in ev.items() if e > 0))
    decided = len([u for u, e in ev.items() if e != 0])
    actual = {u for u, b in truth.items() if b}
    hits = len(actual & set(flagged))
    return MonitorReport(
        users=len(truth),
        decided=decided,
        flagged=flagged,
        estimated_biased_fraction=None if not decided else len(flagged) / decided,
        true_biased_fraction=len(actual) / len(truth) if truth else 0.0,
        precision=None if not flagged else hits / len(flagged),
        recall=None if not actual else hits / len(actual),
    )


def drop_flagged(trajectories: Sequence[Trajectory], report: MonitorReport) -> list[Trajectory]:
    """The trajectories of users the monitor did not flag."""
    flagged = set(report.flagged)
    return [t for t in trajectories if t.user_id not in flagged]
