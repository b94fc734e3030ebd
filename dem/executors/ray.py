"""``ray``: each condition a Ray task with the preset's resources, on the cluster ``ray.init()``
finds (``RAY_ADDRESS``, else a running ``ray start`` node) or on a local one it starts.

A task that asks for GPUs gets a fresh worker process (``max_calls=1``: the CUDA memory of a
finished condition leaves with its process); CPU-only tasks reuse workers, as the local pool
does. A task lost with its worker or node is retried (``max_retries``); an error the task itself
raises is not (it would recur). A request no node can meet is refused before anything is queued.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from dem.executors.base import ExecutorError, ResourceError, last_line
from dem.executors.task import ConditionTask, TaskOutcome, run_task
from dem.validation import check_int
from dem.verbosity import progress_enabled

if TYPE_CHECKING:
    from dem.experiments.presets import ResourcePlan

GIB = 2**30


def connect() -> bool:
    """Join the Ray cluster ``ray.init()`` finds, or start a local one; True when this call
    connected (False: this process was connected already)."""
    import logging

    import ray

    if ray.is_initialized():
        return False
    ray.init(logging_level=logging.WARNING)
    return True


def request(resources: ResourcePlan) -> dict[str, float]:
    """The Ray resources one condition asks for (``CPU``, ``GPU``, ``memory`` in bytes)."""
    need = {"CPU": float(resources.cpus), "GPU": float(resources.gpus)}
    if resources.memory:
        need["memory"] = float(int(resources.memory * GIB))
    return {k: v for k, v in need.items() if v > 0}


def check_fits(resources: ResourcePlan, nodes: Sequence[dict[str, Any]]) -> None:
    """Raise `ResourceError`, naming every node's resources, unless some live node can run one
    condition (a task Ray could never schedule would wait forever)."""
    need = request(resources)
    alive = [n for n in nodes if n.get("Alive")]
    if any(all(n["Resources"].get(k, 0.0) >= v for k, v in need.items()) for n in alive):
        return
    shown = "; ".join(_describe_node(n) for n in alive) or "no live nodes"
    raise ResourceError(
        f"resources: the preset asks for {resources.describe()} per condition and no node of "
        f"the Ray cluster has that (nodes: {shown}); lower [resources] in the preset or add "
        "such a node"
    )


def _describe_node(node: dict[str, Any]) -> str:
    res = node["Resources"]
    return (
        f"{node.get('NodeManagerAddress', '?')}: {res.get('CPU', 0):g} CPUs, "
        f"{res.get('GPU', 0):g} GPUs, {res.get('memory', 0) / GIB:.1f} GiB"
    )


class RayExecutor:
    """Conditions as Ray tasks; `jobs` caps how many run at once (None: as many as the cluster
    fits), `retries` how often a task lost with its worker or node is run again."""

    name: ClassVar[str] = "ray"
    distributed: ClassVar[bool] = True

    def __init__(self, jobs: int | None = None, *, retries: int = 3) -> None:
        self.jobs = None if jobs is None else check_int("--jobs", jobs, minimum=1)
        self.retries = check_int("--retries", retries, minimum=0)

    @classmethod
    def create(cls, *, jobs: int | None, retries: int, log_dir: str | Path | None) -> Self:
        """From the front doors' options."""
        return cls(jobs, retries=retries)

    def run(
        self, tasks: Sequence[ConditionTask], *, resources: ResourcePlan, desc: str
    ) -> list[TaskOutcome]:
        import ray

        started = connect()
        try:
            check_fits(resources, ray.nodes())
            return self._run(tasks, resources, desc)
        finally:
            if started:
                ray.shutdown()

    def _run(
        self, tasks: Sequence[ConditionTask], resources: ResourcePlan, desc: str
    ) -> list[TaskOutcome]:
        import ray
        from tqdm.auto import tqdm

        remote = ray.remote(max_calls=1 if resources.gpus else 0)(run_task)
        options: dict[str, Any] = {
            "num_cpus": resources.cpus,
            "num_gpus": resources.gpus,
            "max_retries": self.retries,
            "retry_exceptions": False,
        }
        if resources.memory:
            options["memory"] = int(resources.memory * GIB)
        waiting = list(enumerate(tasks))
        pending: dict[Any, int] = {}
        done: dict[int, TaskOutcome] = {}
        failures: dict[int, str] = {}
        bar = tqdm(total=len(tasks), desc=desc, file=sys.stderr, disable=not progress_enabled())
        while waiting or pending:
            while waiting and (self.jobs is None or len(pending) < self.jobs):
                i, task = waiting.pop(0)
                ref = remote.options(name=f"dem {task.label}", **options).remote(
                    replace(task, threads=resources.cpus)
                )
                pending[ref] = i
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    done[i] = TaskOutcome.from_dict(ray.get(ref))
                except ray.exceptions.RayTaskError as exc:  # raised by the task itself
                    cause = exc.cause if exc.cause is not None else exc
                    failures[i] = last_line(f"{type(cause).__name__}: {cause}")
                except ray.exceptions.RayError as exc:  # lost worker or node, retries spent
                    failures[i] = (
                        f"{type(exc).__name__} after {self.retries} retries: {last_line(str(exc))}"
                    )
                bar.set_postfix_str(tasks[i].label)
                bar.update()
        bar.close()
        if failures:
            raise ExecutorError(self.name, tasks, done, failures)
        return [done[i] for i in range(len(tasks))]
