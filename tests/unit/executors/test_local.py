"""The local executor: each worker process gets its own GPU group (here fake device ids on a
CPU machine), never more workers than groups, and a request beyond the machine is refused."""

from __future__ import annotations

import json

import pytest

from dem.errors import ConfigError
from dem.executors import ResourceError
from dem.executors.local import LocalExecutor, visible_gpus, worker_devices
from dem.experiments.conditions import mix_condition, vanilla
from dem.experiments.presets import ResourcePlan
from dem.experiments.session import Experiment
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


@pytest.mark.slow  # a second grid build, in one pack (about 15-40 s here)
def test_adapters_one_at_a_time_give_the_packed_grid_figures(serial, tiny_preset, tmp_path):
    """The serial run trains its adapters one at a time (the default on a CPU); ``--pack 3``
    trains them in one pack: the same per-condition figures (within 0.002) and claims."""
    cache, alone = serial
    metas = (cache / "artifacts" / "adapter").glob("*/meta.json")
    assert not any("pack" in json.loads(p.read_text())["result"] for p in metas)
    packed = Experiment.create(str(tiny_preset), cache=str(tmp_path), pack=3).run_grid("mix_ratio")
    trained = [
        json.loads(p.read_text())["result"].get("pack")
        for p in (tmp_path / "artifacts" / "adapter").glob("*/meta.json")
    ]
    assert trained == [3, 3, 3]  # control and both ratios trained as one pack
    figures = {c.condition_id: c.metrics for c in packed.conditions}
    for c in alone.conditions:
        for name, value in c.metrics.items():
            if isinstance(value, float):
                assert abs(value - figures[c.condition_id][name]) <= 0.002, (c.condition_id, name)
            else:
                assert value == figures[c.condition_id][name]
    assert [(c.name, c.passed) for c in alone.comparisons] == [
        (c.name, c.passed) for c in packed.comparisons
    ]


def test_pack_tasks_lead_with_the_packs(tiny_preset, tmp_path) -> None:
    """A pack is one task: its first condition trains the pack's adapters; leaders come first;
    ``pack=1`` gives today's one task per condition with no pack."""
    exp = Experiment.create(str(tiny_preset), cache=str(tmp_path), pack=2)
    conds = exp.conditions("mix_ratio")
    tasks = exp.pack_tasks(conds)
    assert [len(t.pack) for t in tasks] == [1, 0, 0, 0]  # packs of 2 and 1
    assert tasks[0].condition.id == "control-seed0" and tasks[0].pack[0].id == "mix-05pct-seed0"
    assert {t.condition.id for t in tasks} == {c.id for c in conds}
    assert [len(t.pack) for t in exp.pack_tasks(conds, workers=2)] == [1, 0, 0, 0]
    one = Experiment.create(str(tiny_preset), cache=str(tmp_path), pack=1).pack_tasks(conds)
    assert [t.condition.id for t in one] == [c.id for c in conds] and not any(t.pack for t in one)
    default = Experiment.create(str(tiny_preset), cache=str(tmp_path)).pack_tasks(conds, 2)
    assert not any(t.pack for t in default)  # on a CPU packing saves nothing: one at a time
    with pytest.raises(ConfigError, match="--pack"):
        Experiment.create(str(tiny_preset), pack=0)
