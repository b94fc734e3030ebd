"""``slurm``: the conditions as one Slurm job array through submitit, with the preset's
resources and the job logs in the report folder.

Where no Slurm is installed, submitit's local cluster runs the same array as processes on this
machine (`--jobs` then caps them by submitting in waves), so the command is the same on a laptop.
A job that ends without a result (node failure, preemption, time limit) is submitted again up to
`retries` times; an error the task itself raised is not (it would recur).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from dem.errors import ConfigError
from dem.executors.base import ExecutorError, last_line
from dem.executors.task import ConditionTask, TaskOutcome, run_task
from dem.validation import check_int
from dem.verbosity import progress_enabled

if TYPE_CHECKING:
    from dem.experiments.presets import ResourcePlan

_TRACE_RULE = "----------------------"


class SlurmExecutor:
    """Conditions as a submitit job array. `cluster`: ``slurm``, ``local`` or None (Slurm where
    ``srun`` exists, else local); `log_dir`: where submitit keeps each job's files and logs."""

    name: ClassVar[str] = "slurm"
    distributed: ClassVar[bool] = True

    def __init__(
        self,
        jobs: int | None = None,
        *,
        retries: int = 3,
        log_dir: str | Path = "dem-report/slurm",
        cluster: str | None = None,
    ) -> None:
        self.jobs = None if jobs is None else check_int("--jobs", jobs, minimum=1)
        self.retries = check_int("--retries", retries, minimum=0)
        self.log_dir = Path(log_dir).resolve()
        self.cluster = cluster

    @classmethod
    def create(cls, *, jobs: int | None, retries: int, log_dir: str | Path | None) -> Self:
        """From the front doors' options."""
        return cls(jobs, retries=retries, log_dir=log_dir or "dem-report/slurm")

    def parameters(self, resources: ResourcePlan) -> dict[str, Any]:
        """submitit's parameters for one condition (``resources.slurm`` added last)."""
        params: dict[str, Any] = {
            "name": "dem",
            "timeout_min": math.ceil(resources.hours * 60),
            "nodes": 1,
            "tasks_per_node": 1,
            "cpus_per_task": resources.cpus,
            "gpus_per_node": resources.gpus,
            "mem_gb": resources.memory or None,
        }
        if self.jobs is not None:
            params["slurm_array_parallelism"] = self.jobs
        return {**params, **resources.slurm}

    def executor(self, resources: ResourcePlan) -> Any:
        import submitit

        executor = submitit.AutoExecutor(folder=self.log_dir / "%j", cluster=self.cluster)
        try:
            executor.update_parameters(**self.parameters(resources))
        except (NameError, AssertionError, ValueError, TypeError) as exc:
            first = next((x for x in str(exc).splitlines() if x.strip()), type(exc).__name__)
            raise ConfigError("resources.slurm", first.strip()) from None
        return executor

    def run(
        self, tasks: Sequence[ConditionTask], *, resources: ResourcePlan, desc: str
    ) -> list[TaskOutcome]:
        from submitit.core.utils import FailedJobError, UncompletedJobError
        from tqdm.auto import tqdm

        executor = self.executor(resources)
        on_slurm = executor.cluster == "slurm"
        todo = list(range(len(tasks)))
        attempts = dict.fromkeys(todo, 0)
        done: dict[int, TaskOutcome] = {}
        failures: dict[int, str] = {}
        bar = tqdm(total=len(tasks), desc=desc, file=sys.stderr, disable=not progress_enabled())
        while todo:
            size = len(todo) if on_slurm or self.jobs is None else self.jobs
            wave, todo = todo[:size], todo[size:]
            jobs = executor.map_array(
                run_task, [replace(tasks[i], threads=resources.cpus) for i in wave]
            )
            for i, job in zip(wave, jobs, strict=True):
                label = tasks[i].label
                try:
                    done[i] = TaskOutcome.from_dict(job.result())
                except FailedJobError as exc:  # raised by the task itself
                    failures[i] = f"{_task_error(str(exc))} (job {job.job_id})"
                except UncompletedJobError as exc:  # the job died without a result
                    if attempts[i] < self.retries:
                        attempts[i] += 1
                        todo.append(i)
                        continue
                    failures[i] = (
                        f"no result after {self.retries} retries (job {job.job_id}): "
                        f"{last_line(str(exc))}"
                    )
                bar.set_postfix_str(label)
                bar.update()
        bar.close()
        if failures:
            raise ExecutorError(self.name, tasks, done, failures, f"logs: {self.log_dir}")
        return [done[i] for i in range(len(tasks))]


def _task_error(message: str) -> str:
    """The exception line of the traceback inside submitit's failure message."""
    parts = message.split(_TRACE_RULE)
    return last_line(parts[1] if len(parts) >= 3 else message)
