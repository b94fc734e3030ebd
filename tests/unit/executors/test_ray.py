"""The Ray executor on a local cluster (2 CPUs, 2 fake GPUs): the tiny grid matches the serial
run byte for byte, survives a worker killed mid-build, builds a contested key once, and refuses a
request no node can meet."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from dem.errors import DemError
from dem.executors import ResourceError
from dem.experiments.conditions import mix_condition
from dem.experiments.presets import ResourcePlan
from dem.store import MARKER, ArtifactStore
from tests.unit.executors.conftest import comparable, tiny_experiment

pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")


def test_the_grid_on_ray_matches_the_serial_run(ray_cluster, serial, tiny_preset, tmp_path):
    from dem.executors.ray import RayExecutor

    serial_cache, serial_run = serial
    exp = tiny_experiment(tiny_preset, tmp_path / "cache")
    run = exp.run_grid("mix_ratio", executor=RayExecutor())
    assert comparable(run, tmp_path / "cache") == comparable(serial_run, serial_cache)
    assert len(exp.outcomes) == 4 and not any(o.reused for o in exp.outcomes)
    assert {o.pid for o in exp.outcomes}.isdisjoint({os.getpid()})  # the driver built nothing
    store = ArtifactStore(tmp_path / "cache")
    assert {o.key for o in exp.outcomes} == {a.key for a in store.ls() if a.kind == "condition"}


def _owner_pid(folder: Path) -> int | None:
    """The pid in a temporary build folder's name (``key.host-pid.random``)."""
    parts = folder.name.split(".")
    if len(parts) != 3 or parts[0] == "trash":
        return None
    return int(parts[1].rpartition("-")[2])


def _build_pid(cache: Path, timeout: float = 120.0) -> int:
    """The pid of the first process seen building into `cache`."""
    tmp = cache / "artifacts" / ".tmp"
    deadline = time.time() + timeout
    while time.time() < deadline:
        pids = [_owner_pid(f) for f in tmp.iterdir()] if tmp.is_dir() else []
        if any(pids):
            return next(p for p in pids if p)
        time.sleep(0.05)
    raise AssertionError(f"no build started in {cache} within {timeout} s")


def test_a_worker_killed_mid_build_is_retried(ray_cluster, serial, tiny_preset, tmp_path):
    from dem.executors.ray import RayExecutor

    serial_cache, serial_run = serial
    cache = tmp_path / "cache"
    exp = tiny_experiment(tiny_preset, cache)
    runs, errors = [], []

    def grid() -> None:
        try:
            runs.append(exp.run_grid("mix_ratio", executor=RayExecutor(retries=2)))
        except BaseException as exc:
            errors.append(exc)

    driver = threading.Thread(target=grid)
    driver.start()
    victim = _build_pid(cache)
    os.kill(victim, signal.SIGKILL)  # a Ray worker of this test's cluster, mid-build
    driver.join(timeout=300)
    assert not errors, errors
    assert comparable(runs[0], cache) == comparable(serial_run, serial_cache)
    assert victim not in {o.pid for o in exp.outcomes}  # its task ran again elsewhere
    leftovers = [_owner_pid(f) for f in (cache / "artifacts" / ".tmp").iterdir()]
    assert victim not in leftovers  # its half-built folder was swept


@pytest.fixture(scope="module")
def race(ray_cluster, tiny_preset, tmp_path_factory):
    """Two tasks of one condition sent at once to two idle workers: (experiment, task,
    outcomes)."""
    from dem.executors.ray import RayExecutor

    exp = tiny_experiment(tiny_preset, tmp_path_factory.mktemp("race") / "cache")
    task = exp.task(mix_condition(exp.preset, 0.25, 0))
    return exp, task, RayExecutor().run([task, task], resources=exp.preset.resources, desc="race")


def test_two_tasks_racing_for_one_key_build_it_once(race):
    """One builds, the other reuses that artifact; no half-built folder is left behind."""
    exp, _, (first, second) = race
    assert first.key == second.key and first.result == second.result
    assert sorted([first.reused, second.reused]) == [False, True]
    store = ArtifactStore(exp.cache)
    conditions = [a for a in store.ls() if a.kind == "condition"]
    assert [a.key for a in conditions] == [first.key]
    assert (conditions[0].path / MARKER).is_file()
    assert (conditions[0].path / "result.json").is_file()
    assert not any(_owner_pid(f) for f in (store.base / ".tmp").iterdir())


def test_gpu_tasks_get_their_own_device_and_a_fresh_worker(race):
    """On the cluster's two fake GPUs: Ray gives each task one of them (CUDA_VISIBLE_DEVICES)
    and a worker process of its own, never one that ran another task."""
    from dem.executors.ray import RayExecutor

    exp, task, cpu_outcomes = race
    gpu = replace(exp.preset.resources, gpus=1)
    outcomes = RayExecutor().run([task, task], resources=gpu, desc="gpus")
    assert all(o.reused and o.key == cpu_outcomes[0].key for o in outcomes)
    assert sorted(o.devices for o in outcomes) == ["0", "1"]
    pids = [o.pid for o in outcomes]
    assert len(set(pids)) == 2 and not set(pids) & {o.pid for o in cpu_outcomes}


@pytest.mark.parametrize(
    ("plan", "needs"),
    [(ResourcePlan(gpus=4), "4 GPUs"), (ResourcePlan(cpus=64), "64 CPUs"),
     (ResourcePlan(memory=100_000), "100000 GiB")],
)  # fmt: skip
def test_a_request_no_node_can_meet_is_refused_at_once(
    ray_cluster, tiny_preset, tmp_path, plan: ResourcePlan, needs: str
):
    from dem.executors.ray import RayExecutor

    exp = tiny_experiment(tiny_preset, tmp_path / "cache")
    start = time.time()
    with pytest.raises(ResourceError, match=needs) as info:
        RayExecutor().run([exp.task(mix_condition(exp.preset, 0.25, 0))], resources=plan, desc="x")
    assert time.time() - start < 10
    assert "2 CPUs, 2 GPUs" in str(info.value)  # the cluster's resources, in the message
    assert not (tmp_path / "cache" / "artifacts").exists()


def test_tasks_that_cannot_see_the_store_fail_and_the_driver_builds_nothing(
    ray_cluster, tiny_preset, tmp_path
):
    """Nodes that do not mount the driver's store fail at once, each naming its condition; the
    driver then refuses to build any result itself."""
    from dem.executors import ExecutorError
    from dem.executors.ray import RayExecutor
    from dem.experiments.conditions import vanilla

    exp = tiny_experiment(tiny_preset, tmp_path / "cache")
    conds = [vanilla(), mix_condition(exp.preset, 0.25, 0)]
    unshared = [replace(exp.task(c), cache=str(tmp_path / "node-local")) for c in conds]
    with pytest.raises(ExecutorError, match="2 of 2 conditions failed on ray") as info:
        exp.dispatch(unshared, RayExecutor(retries=0))
    assert "mix-25pct-seed0: StoreError:" in str(info.value)
    with pytest.raises(DemError, match=r"vanilla .*failed: StoreError: .* sees no dem store"):
        exp.result(vanilla())
    with pytest.raises(DemError, match=r"control-seed0 .*driver never builds a condition"):
        exp.result(mix_condition(exp.preset, 0.0, 0))
    assert not (tmp_path / "cache" / "artifacts").exists()
    assert not (tmp_path / "node-local").exists()
