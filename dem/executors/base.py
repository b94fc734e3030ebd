"""The `Executor` Protocol every backend implements, and the errors they share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from dem.errors import DemError

if TYPE_CHECKING:
    from dem.executors.task import ConditionTask, TaskOutcome
    from dem.experiments.presets import ResourcePlan


class ExecutorError(DemError):
    """Tasks failed; the message names each failed condition and why. ``outcomes``: those of
    the tasks that succeeded; ``failed``: result key -> reason, for the others."""

    def __init__(
        self,
        executor: str,
        tasks: Sequence[ConditionTask],
        outcomes: Mapping[int, TaskOutcome],
        failures: Mapping[int, str],
        note: str = "",
    ) -> None:
        self.outcomes = [outcomes[i] for i in sorted(outcomes)]
        self.failed = {tasks[i].result_key: reason for i, reason in failures.items()}
        lines = [f"{len(failures)} of {len(tasks)} conditions failed on {executor}:"]
        lines += [f"  {tasks[i].label}: {reason}" for i, reason in sorted(failures.items())]
        super().__init__("\n".join(lines) + (f"\n{note}" if note else ""))


class ResourceError(DemError):
    """The preset asks for more than any machine of the cluster has; raised before any task."""


@runtime_checkable
class Executor(Protocol):
    """Runs condition tasks somewhere and returns their outcomes, one per task, in task order.

    ``distributed``: tasks may run on other machines, so the store must be shared and the
    driver builds nothing itself.
    """

    name: ClassVar[str]
    distributed: ClassVar[bool]

    @classmethod
    def create(cls, *, jobs: int | None, retries: int, log_dir: str | Path | None) -> Executor: ...

    def run(
        self, tasks: Sequence[ConditionTask], *, resources: ResourcePlan, desc: str
    ) -> list[TaskOutcome]: ...


def last_line(text: str) -> str:
    """The last non-empty line of a traceback or log (the exception and its message)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
