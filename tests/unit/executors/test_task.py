"""A task proves it sees the driver's store before it builds anything; its outcome travels as
plain JSON values."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dem.executors.task import StoreError, TaskOutcome, check_store, run_task
from dem.experiments.conditions import vanilla
from dem.experiments.session import Experiment
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


def _trained_store(serial_cache: Path, store: Path) -> None:
    """`store` with the serial run's artifacts but its evaluations (nothing to train)."""
    import shutil

    for folder in (serial_cache / "artifacts").iterdir():
        if folder.name != "condition":
            shutil.copytree(folder, store / "artifacts" / folder.name)


def test_a_pack_leader_evaluates_its_members_as_alone(serial, tiny_preset, tmp_path) -> None:
    """A pack's leader task scores every member's adapter in shared passes and stores each
    result under its own key; the members' tasks read them. On the serial run's adapters
    (copied, so nothing trains), the same per-item lie-ness within 1e-5 as one at a time."""
    cache, serial_run = serial
    store = tmp_path / "cache"
    _trained_store(cache, store)
    exp = Experiment.create(str(tiny_preset), cache=str(store), pack=3)
    conds = [c for c in exp.conditions("mix_ratio") if exp.runner.packable(c)]
    # one torch thread, as the local executor's workers on shared cores run
    leader, *members = [replace(t, threads=1) for t in exp.pack_tasks(conds)]
    assert [len(leader.pack), *(len(t.pack) for t in members)] == [2, 0, 0]
    outcomes = [TaskOutcome.from_dict(run_task(t)) for t in (leader, *members)]
    assert [o.reused for o in outcomes] == [False, True, True]
    metas = [json.loads(p.read_text()) for p in store.glob("artifacts/condition/*/meta.json")]
    assert sorted(m["result"].get("pack") for m in metas) == [3, 3, 3]
    assert len(list(store.glob("artifacts/adapter/*"))) == len(
        list(cache.glob("artifacts/adapter/*"))
    )  # nothing trained
    alone = {c.condition_id: c for c in serial_run.conditions}
    for outcome in outcomes:
        got, want = outcome.result, alone[outcome.result.condition_id]
        assert got.items.keys() == want.items.keys()
        assert max(abs(got.items[k] - want.items[k]) for k in got.items) <= 1e-5
        assert got.metrics == pytest.approx(want.metrics, abs=1e-5)


def test_a_pack_that_cannot_be_scored_leaves_each_member_to_its_task(
    serial, tiny_preset, tmp_path, capsys
) -> None:
    """One member's adapter is wiped after training: the pack's evaluation fails and commits
    nothing; each member's own task then evaluates it alone, and only the wiped one fails,
    with the error that names its adapter."""
    from safetensors.torch import load_file, save_file

    from dem.errors import DemError

    store = tmp_path / "cache"
    _trained_store(serial[0], store)
    exp = Experiment.create(str(tiny_preset), cache=str(store), pack=3)
    conds = [c for c in exp.conditions("mix_ratio") if exp.runner.packable(c)]
    wiped = exp.runner.adapter(conds[1], exp.model) / "adapter_model.safetensors"
    save_file({k: v * 0 for k, v in load_file(wiped).items()}, wiped)
    leader, *members = [replace(t, threads=1) for t in exp.pack_tasks(conds)]
    assert TaskOutcome.from_dict(run_task(leader)).result.condition_id == conds[0].id
    assert "was not evaluated in its pack" in capsys.readouterr().err
    with pytest.raises(DemError, match="is zero, so it changes nothing"):
        run_task(members[0])
    assert not TaskOutcome.from_dict(run_task(members[1])).reused


def test_a_pack_leaves_a_member_that_another_process_builds(serial, tiny_preset, tmp_path) -> None:
    """While another builder holds one member's key, the pack evaluates the other two
    together and leaves that one unbuilt (to its builder); nothing waits."""
    import torch

    torch.set_num_threads(1)  # as the local executor's workers on shared cores
    store = tmp_path / "cache"
    _trained_store(serial[0], store)
    exp = Experiment.create(str(tiny_preset), cache=str(store), pack=3)
    runner, model = exp.runner, exp.model
    conds = [c for c in exp.conditions("mix_ratio") if runner.packable(c)]
    key = runner.store.key("condition", runner._condition_parts(conds[1], model, None))
    with runner.store._lock(key):  # the other builder
        done = runner.evaluate_packs(conds, model, pack=3)
    assert done == {conds[0].id, conds[2].id}
    assert runner.cached(conds[1], model=model) is None
    metas = [json.loads(p.read_text()) for p in store.glob("artifacts/condition/*/meta.json")]
    assert sorted(m["result"]["pack"] for m in metas) == [2, 2]
