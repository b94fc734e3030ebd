"""``local``: a pool of worker processes on this machine, each with its own GPU(s) when there are
GPUs (``CUDA_VISIBLE_DEVICES``) and its share of the CPU threads.

The devices are handed out per worker process, before it imports anything that touches CUDA;
workers live for the whole run, as in the pool this executor replaces.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

from dem.executors.base import ExecutorError, ResourceError, last_line
from dem.executors.task import ConditionTask, TaskOutcome, run_task
from dem.validation import check_int
from dem.verbosity import info, progress_enabled

if TYPE_CHECKING:
    from dem.experiments.presets import ResourcePlan


def visible_gpus() -> list[str]:
    """This machine's GPUs as ``CUDA_VISIBLE_DEVICES`` names them (ids or UUIDs): the ones that
    variable lists when set, else every device torch counts."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    try:
        import torch
    except ImportError:
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def worker_devices(gpus: Sequence[str], per_condition: int, jobs: int) -> list[str | None]:
    """``CUDA_VISIBLE_DEVICES`` of each worker. Conditions that ask for GPUs get disjoint
    groups of `per_condition` GPUs, at most `jobs` workers; CPU-only conditions get `jobs`
    workers with one GPU each, in turn (a GPU then serves several workers); ``[None] * jobs``
    on a machine without GPUs."""
    if not gpus:
        return [None] * jobs
    if per_condition == 0:
        return [gpus[i % len(gpus)] for i in range(jobs)]
    if per_condition > len(gpus):
        raise ResourceError(
            f"resources.gpus: the preset asks for {per_condition} GPUs per condition; this "
            f"machine has {len(gpus)} ({', '.join(gpus)})"
        )
    workers = min(jobs, len(gpus) // per_condition)
    return [",".join(gpus[i * per_condition : (i + 1) * per_condition]) for i in range(workers)]


class LocalExecutor:
    """Up to `jobs` worker processes (one in-process loop when that is 1). `gpus`: the devices
    to hand out (default: `visible_gpus`)."""

    name: ClassVar[str] = "local"
    distributed: ClassVar[bool] = False

    def __init__(self, jobs: int = 1, *, gpus: Sequence[str] | None = None) -> None:
        self.jobs = check_int("--jobs", jobs, minimum=1)
        self.gpus = None if gpus is None else list(gpus)

    @classmethod
    def create(cls, *, jobs: int | None, retries: int, log_dir: str | Path | None) -> Self:
        """From the front doors' options (a worker lost here fails the run: no retries)."""
        return cls(1 if jobs is None else jobs)

    def run(
        self, tasks: Sequence[ConditionTask], *, resources: ResourcePlan, desc: str
    ) -> list[TaskOutcome]:
        gpus = visible_gpus() if self.gpus is None else self.gpus
        devices = worker_devices(gpus, resources.gpus, self.jobs)
        if len(devices) < self.jobs:
            info(
                f"dem: {len(devices)} worker(s), each with {resources.gpus} of the {len(gpus)} "
                f"GPUs (--jobs {self.jobs} asked for more)"
            )
        if len(devices) == 1:
            return self._run_here(tasks, desc)
        return self._run_pool(tasks, devices, desc)

    def _run_here(self, tasks: Sequence[ConditionTask], desc: str) -> list[TaskOutcome]:
        from tqdm.auto import tqdm

        done: dict[int, TaskOutcome] = {}
        failures: dict[int, str] = {}
        bar = tqdm(
            list(enumerate(tasks)), desc=desc, file=sys.stderr, disable=not progress_enabled()
        )
        for i, task in bar:
            bar.set_postfix_str(task.label)
            try:
                done[i] = TaskOutcome.from_dict(run_task(task))
            except Exception as exc:  # the others still run; all failures are reported
                failures[i] = last_line(f"{type(exc).__name__}: {exc}")
        if failures:
            raise ExecutorError(self.name, tasks, done, failures)
        return [done[i] for i in range(len(tasks))]

    def _run_pool(
        self, tasks: Sequence[ConditionTask], devices: list[str | None], desc: str
    ) -> list[TaskOutcome]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from tqdm.auto import tqdm

        threads = max(1, (os.cpu_count() or 1) // len(devices))
        context = multiprocessing.get_context("spawn")
        slots = context.Queue()
        for group in devices:
            slots.put(group)
        done: dict[int, TaskOutcome] = {}
        failures: dict[int, str] = {}
        with ProcessPoolExecutor(
            len(devices), mp_context=context, initializer=_claim_devices, initargs=(slots,)
        ) as pool:
            futures = {
                pool.submit(run_task, replace(task, threads=threads)): i
                for i, task in enumerate(tasks)
            }
            bar = tqdm(
                total=len(futures), desc=desc, file=sys.stderr, disable=not progress_enabled()
            )
            for future in as_completed(futures):
                task = tasks[futures[future]]
                try:
                    done[futures[future]] = TaskOutcome.from_dict(future.result())
                except Exception as exc:
                    failures[futures[future]] = last_line(f"{type(exc).__name__}: {exc}")
                bar.set_postfix_str(task.label)
                bar.update()
            bar.close()
        if failures:
            raise ExecutorError(self.name, tasks, done, failures)
        return [done[i] for i in range(len(tasks))]


def _claim_devices(slots: Any) -> None:
    """Pool initializer: this worker takes its own GPU group before anything imports CUDA."""
    group = slots.get()
    if group is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = group
