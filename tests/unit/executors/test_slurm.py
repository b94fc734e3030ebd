"""The Slurm executor through submitit's local cluster: the tiny grid as a job array gives the
serial run's results, with the job logs where it was told; the preset's resources become
submitit's parameters."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.experiments.presets import ResourcePlan
from tests.unit.executors.conftest import comparable, tiny_experiment

pytest.importorskip("submitit")


def test_the_grid_through_submitit_matches_the_serial_run(serial, tiny_preset, tmp_path):
    from dem.executors.slurm import SlurmExecutor

    serial_cache, serial_run = serial
    executor = SlurmExecutor(jobs=2, log_dir=tmp_path / "slurm", cluster="local")
    exp = tiny_experiment(tiny_preset, tmp_path / "cache")
    run = exp.run_grid("mix_ratio", executor=executor)
    assert comparable(run, tmp_path / "cache") == comparable(serial_run, serial_cache)
    assert len({o.pid for o in exp.outcomes}) == 4  # a process per condition
    assert len(list((tmp_path / "slurm").glob("*/*_log.out"))) == 4


def test_the_preset_resources_become_submitit_parameters(tmp_path):
    from dem.executors.slurm import SlurmExecutor

    plan = ResourcePlan(gpus=1, cpus=8, memory=64, hours=7.5, slurm={"slurm_partition": "gpu"})
    params = SlurmExecutor(jobs=6, log_dir=tmp_path).parameters(plan)
    assert params == {
        "name": "dem",
        "timeout_min": 450,
        "nodes": 1,
        "tasks_per_node": 1,
        "cpus_per_task": 8,
        "gpus_per_node": 1,
        "mem_gb": 64,
        "slurm_array_parallelism": 6,
        "slurm_partition": "gpu",
    }
    executor = SlurmExecutor(log_dir=tmp_path, cluster="local").executor(plan)
    assert executor.cluster == "local"
    bad = ResourcePlan(slurm={"slurm_no_such_option": 1})
    with pytest.raises(ConfigError, match=r"resources\.slurm: .*'no_such_option'"):
        SlurmExecutor(log_dir=tmp_path, cluster="local").executor(bad)
