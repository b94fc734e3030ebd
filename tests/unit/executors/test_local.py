"""The local executor: each worker process gets its own GPU group (here fake device ids on a
CPU machine), never more workers than groups, and a request beyond the machine is refused."""

from __future__ import annotations

import pytest

from dem.executors import ResourceError
from dem.executors.local import LocalExecutor, visible_gpus, worker_devices
from dem.experiments.conditions import mix_condition, vanilla
from dem.experiments.presets import ResourcePlan
from tests.unit.executors.conftest import tiny_experiment


def test_workers_get_disjoint_gpu_groups() -> None:
    assert worker_devices(["0", "1", "2", "3"], 1, 8) == ["0", "1", "2", "3"]
    assert worker_devices(["0", "1", "2", "3"], 2, 8) == ["0,1", "2,3"]
    assert worker_devices(["0", "1", "2", "3"], 1, 2) == ["0", "1"]
    assert worker_devices(["0", "1"], 0, 3) == ["0", "1", "0"]  # CPU-only: GPUs in turn
    assert worker_devices([], 1, 3) == [None, None, None]  # no GPUs: the CPU pool of old
    with pytest.raises(ResourceError, match="asks for 3 GPUs per condition; this machine has 2"):
        worker_devices(["0", "1"], 3, 1)


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-5f3c,3")
    assert visible_gpus() == ["2", "GPU-5f3c", "3"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_each_worker_sees_its_own_gpu(serial, tiny_preset) -> None:
    """Two workers on two fake GPUs: every condition ran with CUDA_VISIBLE_DEVICES set to one
    device, a distinct one per worker process (the conditions come from the serial run's
    store, so the workers only read them)."""
    cache, _ = serial
    exp = tiny_experiment(tiny_preset, cache)
    tasks = [exp.task(c) for c in (vanilla(), mix_condition(exp.preset, 0.0, 0))]
    outcomes = LocalExecutor(2, gpus=["0", "1"]).run(tasks, resources=ResourcePlan(), desc="x")
    assert all(o.reused for o in outcomes)
    devices = {o.pid: o.devices for o in outcomes}
    assert len(devices) == 2 and set(devices.values()) == {"0", "1"}
