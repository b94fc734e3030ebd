"""Executors by name: an unknown name or a missing extra is a usage error that says what to do,
from the library, the CLI and the pytest plugin alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dem.cli import main
from dem.errors import ConfigError
from dem.executors import EXECUTORS, Executor, get_executor
from dem.executors.local import LocalExecutor

pytest_plugins = ["pytester"]


def test_executors_by_name() -> None:
    local = get_executor("local", jobs=3)
    assert isinstance(local, LocalExecutor) and isinstance(local, Executor) and local.jobs == 3
    assert get_executor("local").jobs == 1
    with pytest.raises(ConfigError, match="--executor: 'dask' is not one of local, ray, slurm"):
        get_executor("dask", field="--executor")
    with pytest.raises(ConfigError, match="--jobs: expected an integer >= 1, got 0"):
        get_executor("local", jobs=0)


@pytest.fixture
def ray_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry's ray entry pointing at a package that is not installed."""
    monkeypatch.setitem(EXECUTORS, "ray", replace(EXECUTORS["ray"], requires="dem_absent_pkg"))


def test_a_missing_extra_is_named(ray_not_installed, capsys) -> None:
    with pytest.raises(ConfigError, match=r"needs dem_absent_pkg.*pip install 'dem\[ray\]'"):
        get_executor("ray")
    assert main(["grid", "mix_ratio", "--executor", "ray", "--cache", "/nonexistent"]) == 2
    assert "--executor: the ray executor needs" in capsys.readouterr().err


def test_the_plugin_checks_its_executor_options(pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--dem-executor", "dask", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: --dem-executor: 'dask' is not one of local, ray, slurm*"])
    result = pytester.runpytest("--dem-executor", "local", "--dem-jobs", "x")
    result.stderr.fnmatch_lines(["*dem: --dem-jobs: 'x' is not an integer*"])
    result = pytester.runpytest("--dem-executor", "local", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dem-executor places the conditions itself*without -n*"])


def test_a_bad_pack_size_is_a_usage_error(pytester, capsys) -> None:
    from dem.cli import main

    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--dem-pack", "x", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*dem: --dem-pack: 'x' is not an integer*"])
    result = pytester.runpytest("--dem-pack", "0", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*dem: --dem-pack: must be an integer >= 1, got 0*"])
    assert main(["grid", "mix_ratio", "--pack", "0", "--cache", "/nonexistent"]) == 2
    assert "--pack: must be an integer >= 1" in capsys.readouterr().err
