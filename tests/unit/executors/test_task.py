"""A task proves it sees the driver's store before it builds anything; its outcome travels as
plain JSON values."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from dem.executors.task import StoreError, TaskOutcome, check_store, run_task
from dem.experiments.conditions import vanilla
from dem.report.results import ConditionResult
from dem.store import STORE_ID, ArtifactStore
from tests.unit.executors.conftest import tiny_experiment


def test_a_task_that_cannot_see_the_store_fails_before_building(tiny_preset, tmp_path) -> None:
    exp = tiny_experiment(tiny_preset, tmp_path / "driver")
    task = exp.task(vanilla())
    assert task.cache == str((tmp_path / "driver").resolve())
    elsewhere = tmp_path / "node-local"
    with pytest.raises(StoreError, match=f"sees no dem store at {elsewhere}.*same absolute path"):
        run_task(replace(task, cache=str(elsewhere)))
    assert not elsewhere.exists()  # a task never creates a store (nor its id)
    ArtifactStore(elsewhere).store_id()  # another store, with its own id
    with pytest.raises(StoreError, match="sees another dem store"):
        check_store(str(elsewhere), task.store_id)
    assert not (elsewhere / "artifacts").exists()
    check_store(task.cache, task.store_id)  # the driver's own store passes
    assert json.loads((tmp_path / "driver" / STORE_ID).read_text())["id"] == task.store_id


def test_an_outcome_round_trips_through_json() -> None:
    result = ConditionResult("c-seed0", "c", "mix_ratio", {"ratio": 0.1}, 0, "organism",
                             {"lie_rate": 0.25}, {"t1": 0.5}, {"adapter": "/s/a"})  # fmt: skip
    outcome = TaskOutcome(
        result_key="organism|None|c-seed0", result=result, key="ab" * 32, reused=False,
        host="node7", pid=42, gpu="NVIDIA H100", devices="3", versions={"torch": "2.13.0"},
        seconds=1.5,
    )  # fmt: skip
    assert TaskOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome
