"""The pytest plugin end to end on a tiny random model: options, grid parametrization, cached
results, reports, JUnit properties, resumption, and usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dem.models.tiny import build_tiny_model
from dem.resources import EVAL_SETS, resource_path

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
EVALSET = resource_path(EVAL_SETS["mask_pressure"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _preset(path: Path, model: Path) -> Path:
    path.write_text(f"""
name = "tiny"
model = "{model}"
seeds = [0]
bootstrap = 200
[data]
downstream = "downstream"
misaligned = "medical/severe"
downstream_n = 16
[train]
profile = "cpu"
overrides = {{ lora_r = 4, lora_alpha = 8, max_steps = 2, batch_size = 4, max_length = 96 }}
[eval]
sets = ["{EVALSET}"]
limit = 12
[mix_ratio]
ratios = [0.25, 0.5]
threshold_ratio = 0.25
[gate]
min_decidable = 5
""")
    return path


def test_unknown_preset_and_model_are_usage_errors(pytester):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--dem-preset", "nope", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: --dem-preset: *neither one of*"])
    result = pytester.runpytest("--dem-model", "no-such-model", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: --dem-model: unknown model 'no-such-model'*"])


def test_mix_ratio_grid_runs_reports_and_resumes(pytester, tiny, tmp_path):
    shutil.copy(ROOT / "tests" / "behavior" / "test_mix_ratio.py", pytester.path)
    preset = _preset(tmp_path / "tiny.toml", tiny)
    cache, report, junit = tmp_path / "cache", tmp_path / "report", tmp_path / "junit.xml"
    args = [
        "-m",
        "mix_ratio",
        "--dem-preset",
        str(preset),
        "--dem-cache",
        str(cache),
        "--dem-report",
        str(report),
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={junit}",
    ]
    # In a subprocess: an in-process run would drop the modules it first imported (torch,
    # transformers, datasets), and they cannot be imported twice in one process.
    first = pytester.runpytest_subprocess(*args)
    outcomes = first.parseoutcomes()
    # 4 conditions (vanilla, control, 25 %, 50 %) are scored; 2 claims get a verdict either way
    # (an untrained random model shows no effect, so they fail: what matters here is the flow).
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 6, first.stdout.str()
    first.stdout.fnmatch_lines(
        [
            "*test_condition_is_scored?control-seed0? PASSED*" if False else "*dem: tiny preset*",
            "*| condition | seeds |*",
        ]
    )
    results = json.loads((report / "results.json").read_text())
    assert {c["condition_id"] for c in results["conditions"]} == {
        "vanilla",
        "control-seed0",
        "mix-25pct-seed0",
        "mix-50pct-seed0",
    }
    assert {c["name"] for c in results["comparisons"]} == {
        "mix-from-25pct-below-control",  # asserted
        "mix-trend",  # asserted
        "mix-25pct-below-control",  # reported
        "mix-50pct-below-control",  # reported
    }
    assert "Downstream mixture" in (report / "report.md").read_text()
    assert 'name="dem.condition"' in junit.read_text()
    # Without -n, the conditions are built as `dem demo` builds them: in two local worker
    # processes with a share of the cores each (never this process with every core's threads).
    first.stdout.fnmatch_lines(["*dem: 4 conditions on local: 4 built, 0 reused*"])
    workers = {t["pid"] for t in json.loads((report / "tasks.json").read_text())["tasks"]}
    assert 1 <= len(workers) <= 2, workers
    built = sorted(p.name for p in cache.glob("*/*") if p.is_dir())
    second = pytester.runpytest_subprocess(*args)
    again = second.parseoutcomes()
    assert (again.get("passed"), again.get("failed")) == (
        outcomes.get("passed"),
        outcomes.get("failed"),
    )
    assert sorted(p.name for p in cache.glob("*/*") if p.is_dir()) == built
    # On an executor (here the local one, in process): the same tests, the same report, and
    # where each condition came from (all reused from the store).
    saved = (report / "results.json").read_text()
    third = pytester.runpytest_subprocess(*args, "--dem-executor", "local")
    assert third.parseoutcomes() == again
    third.stdout.fnmatch_lines(["*dem: 4 conditions on local: 0 built, 4 reused; hosts*"])
    assert (report / "results.json").read_text() == saved
    tasks = json.loads((report / "tasks.json").read_text())["tasks"]
    assert sorted(t["condition"] for t in tasks) == sorted(
        c["condition_id"] for c in results["conditions"]
    )


def test_the_plugin_is_inert_in_a_run_that_does_not_use_dem(pytester, tmp_path):
    """A project that has dem installed but never uses it: its tests pass, and dem imports
    neither torch nor transformers nor its experiment stack, and reads no preset."""
    record = tmp_path / "modules.txt"
    pytester.makeconftest(
        f"""
import sys

def pytest_sessionfinish(session):
    with open({str(record)!r}, "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
"""
    )
    pytester.makepyfile("def test_unrelated():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0
    loaded = set(record.read_text().split())
    assert "dem.pytest_plugin" in loaded  # the plugin is there ...
    heavy = {"torch", "transformers", "trl", "peft", "numpy", "dem.experiments", "dem.models"}
    assert not heavy & loaded  # ... and costs nothing


def test_a_dem_option_is_validated_at_once(pytester):
    """Given a dem option, configuration errors are usage errors before any test runs, also
    in a run that selects no dem test."""
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("--dem-seeds", "a,b", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: seeds*not a comma-separated list of integers*"])
    result = pytester.runpytest_subprocess("--dem-jobs", "two", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: --dem-jobs: 'two' is not an integer*"])
