"""What travels between a driver and the machine that builds a condition, and the task body.

A `ConditionTask` is a condition's whole spec (condition, preset, model, adapter) plus the store
it must be built into; `run_task` builds it there and returns a `TaskOutcome` as plain JSON
values. Every executor ships tasks out and outcomes back, and nothing else: where a condition
runs never changes what it computes.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dem.errors import DemError
from dem.experiments.conditions import Condition
from dem.experiments.presets import Preset
from dem.report.results import ConditionResult
from dem.verbosity import NORMAL


class StoreError(DemError):
    """A task sees no artifact store, or not the driver's, at the path it was given."""


@dataclass(frozen=True)
class ConditionTask:
    """One condition to build: its spec, and the store (by absolute path and id) to build it
    into. ``result_key`` is what the driver files the result under; ``threads`` sets torch's
    threads in the task (None: leave them); ``verbosity`` is the driver's ``-q``/``-v``;
    ``pack``: further conditions whose adapters this task trains in one pack with its own
    (`dem.train.packed`) and then evaluates with its own in shared forward passes
    (`Runner.evaluate_packs`); their own tasks then read the stored results."""

    condition: Condition
    preset: Preset
    model: str
    adapter: str | None
    cache: str
    store_id: str
    result_key: str
    threads: int | None = None
    verbosity: int = NORMAL
    pack: tuple[Condition, ...] = ()

    @property
    def label(self) -> str:
        """The condition's id, with the model when it is not the preset's (gate runs)."""
        suffix = "" if self.model == self.preset.model else f" on {self.model}"
        return self.condition.id + suffix + (f"+{self.adapter}" if self.adapter else "")


@dataclass(frozen=True)
class TaskOutcome:
    """What a task sends back: the result, the artifact that holds it, and where it ran."""

    result_key: str
    result: ConditionResult
    key: str
    reused: bool
    host: str
    pid: int
    gpu: str | None
    devices: str | None
    versions: Mapping[str, str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskOutcome:
        return cls(**{**data, "result": ConditionResult.from_dict(data["result"])})


def check_store(cache: str, store_id: str) -> None:
    """Fail at once, naming the host and path, unless this machine sees the driver's store."""
    from dem.store import STORE_ID, ArtifactStore

    store = ArtifactStore(cache)
    found = store.store_id(create=False)
    where = f"{socket.gethostname()} (pid {os.getpid()})"
    if found is None:
        raise StoreError(
            f"{where} sees no dem store at {store.root} (no {STORE_ID}): DEM_CACHE must be a "
            "folder on a filesystem that every node mounts at the same absolute path"
        )
    if found != store_id:
        raise StoreError(
            f"{where} sees another dem store at {store.root} (id {found}, the driver's is "
            f"{store_id}): DEM_CACHE must be the same shared folder on every node"
        )


def run_task(task: ConditionTask) -> dict[str, Any]:
    """Build `task`'s condition into its store (or reuse it); the `TaskOutcome` as a dict."""
    start = time.time()
    check_store(task.cache, task.store_id)
    import torch

    if task.threads is not None:
        torch.set_num_threads(task.threads)
    from dem.experiments.runner import Runner, read_result
    from dem.store import library_versions
    from dem.verbosity import set_verbosity

    set_verbosity(task.verbosity)
    runner = Runner(task.preset, cache=task.cache, progress=False)
    evaluated: set[str] = set()
    if task.pack:
        conditions = (task.condition, *task.pack)
        runner.train_adapters(conditions, task.model, pack=len(conditions))
        evaluated = runner.evaluate_packs(conditions, task.model, pack=len(conditions))
    art = runner.condition_artifact(task.condition, model=task.model, adapter=task.adapter)
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return TaskOutcome(
        result_key=task.result_key,
        result=read_result(art),
        key=art.key,
        reused=art.reused and task.condition.id not in evaluated,
        host=socket.gethostname(),
        pid=os.getpid(),
        gpu=gpu,
        devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        versions=library_versions(),
        seconds=round(time.time() - start, 3),
    ).to_dict()


def write_outcomes(outcomes: Sequence[TaskOutcome], path: str | Path) -> Path:
    """Where each condition ran (``tasks.json`` beside a report): artifact key, host, GPU,
    library versions, seconds; the results themselves are in ``results.json``."""
    from dem.atomic import write_json

    rows = [{k: v for k, v in o.to_dict().items() if k != "result"} for o in outcomes]
    for row, outcome in zip(rows, outcomes, strict=True):
        row["condition"] = outcome.result.condition_id
    write_json(Path(path), {"tasks": rows})
    return Path(path)


def summarize(executor: str, outcomes: Sequence[TaskOutcome]) -> str:
    """``22 conditions on ray: 20 built, 2 reused; hosts a (12), b (10); GPUs H100 (22)``, and
    the library versions of any host that differ from this machine's."""
    from collections import Counter

    built = sum(not o.reused for o in outcomes)
    hosts = Counter(o.host for o in outcomes)
    gpus = Counter(o.gpu for o in outcomes if o.gpu)
    count = f"{len(outcomes)} condition{'s' * (len(outcomes) != 1)}"
    text = (
        f"{count} on {executor}: {built} built, {len(outcomes) - built} reused; "
        f"hosts {', '.join(f'{h} ({n})' for h, n in hosts.most_common())}"
    )
    if gpus:
        text += f"; GPUs {', '.join(f'{g} ({n})' for g, n in gpus.most_common())}"
    from dem.store import library_versions

    here = library_versions()
    drift = sorted(
        {
            f"{o.host} {name} {version}"
            for o in outcomes
            for name, version in o.versions.items()
            if here.get(name) != version
        }
    )
    if drift:  # keys cover versions: such results are not this machine's cache hits
        text += f"; versions unlike this machine's: {', '.join(drift)}"
    return text
