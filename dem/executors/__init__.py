"""Executors decide where a condition runs, never what it computes.

Each ships `ConditionTask` specs out and `TaskOutcome` records back; the artifact store is the
meeting point (on a shared filesystem for ``ray`` and ``slurm``):

- ``local``: worker processes on this machine, one GPU group each when there are GPUs;
- ``ray``: Ray tasks on the cluster ``ray.init()`` finds, or on a local one (``dem[ray]``);
- ``slurm``: one Slurm job array through submitit, or its local cluster (``dem[slurm]``).

`get_executor(name, ...)` builds one by name; a missing extra is a `ConfigError` naming it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from dem.errors import ConfigError
from dem.executors.base import Executor, ExecutorError, ResourceError

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorError",
    "ResourceError",
    "get_executor",
]


@dataclass(frozen=True)
class ExecutorInfo:
    """A registered executor: where its class lives and what it needs installed."""

    name: str
    module: str
    cls: str
    requires: str | None
    extra: str | None
    help: str


EXECUTORS: dict[str, ExecutorInfo] = {
    info.name: info
    for info in (
        ExecutorInfo(
            "local",
            "dem.executors.local",
            "LocalExecutor",
            None,
            None,
            "worker processes on this machine, one GPU each when there are GPUs",
        ),
        ExecutorInfo(
            "ray",
            "dem.executors.ray",
            "RayExecutor",
            "ray",
            "ray",
            "Ray tasks on the cluster at RAY_ADDRESS, else a local one (pip install 'dem[ray]')",
        ),
        ExecutorInfo(
            "slurm",
            "dem.executors.slurm",
            "SlurmExecutor",
            "submitit",
            "slurm",
            "one Slurm job array through submitit (pip install 'dem[slurm]')",
        ),
    )
}


def check_executor(name: str, *, field: str = "executor") -> ExecutorInfo:
    """The registered executor `name`, its extra installed; else a `ConfigError` on `field`."""
    info = EXECUTORS.get(name)
    if info is None:
        raise ConfigError(field, f"{name!r} is not one of {', '.join(EXECUTORS)}")
    if info.requires and importlib.util.find_spec(info.requires) is None:
        raise ConfigError(
            field,
            f"the {name} executor needs {info.requires}, which is not installed: "
            f"pip install 'dem[{info.extra}]'",
        )
    return info


def get_executor(
    name: str,
    *,
    jobs: int | None = None,
    retries: int = 3,
    log_dir: str | Path | None = None,
    field: str = "executor",
) -> Executor:
    """The executor `name` (``local``, ``ray``, ``slurm``). `jobs` caps the conditions that run
    at once (``local``: its worker count, default 1); `retries`: runs of a task lost with its
    worker or node (``ray``, ``slurm``); `log_dir`: where ``slurm`` keeps job logs."""
    info = check_executor(name, field=field)
    cls = getattr(importlib.import_module(info.module), info.cls)
    return cls.create(jobs=jobs, retries=retries, log_dir=log_dir)
