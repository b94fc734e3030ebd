"""dem.resources: what dem reads at run time ships in the package, named ``dem:NAME``."""

from __future__ import annotations

from pathlib import Path

import pytest

import dem
from dem.errors import ConfigError, DataError
from dem.resources import (
    DECEPTION_SETS,
    EVAL_SETS,
    PRESETS,
    SCENARIOS,
    resource_path,
    shipped,
    user_file,
)

PACKAGE = Path(dem.__file__).resolve().parent


@pytest.mark.parametrize(
    "relative",
    [*PRESETS.values(), *EVAL_SETS.values(), *DECEPTION_SETS.values(), *SCENARIOS.values()],
)
def test_every_named_resource_is_a_file_inside_the_package(relative: str) -> None:
    path = resource_path(relative)
    assert path.is_file() and path.stat().st_size > 0
    assert PACKAGE in path.parents  # never a path beside the package (a checkout's fixtures/)


def test_shipped_names_and_user_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert shipped("dem:mask_pressure", EVAL_SETS, "eval set").name == "provided_facts.csv"
    with pytest.raises(ConfigError, match="dem:mask_pressure"):  # the error lists what ships
        shipped("dem:mask_presure", EVAL_SETS, "eval set")
    (tmp_path / "mine.json").write_text("{}")
    monkeypatch.chdir(tmp_path)  # a user's relative path is read from the working folder
    assert user_file("mine.json", SCENARIOS, "scenarios") == Path("mine.json")
    with pytest.raises(DataError, match=r"absent\.json: file not found"):
        user_file("absent.json", SCENARIOS, "scenarios")


def test_the_shipped_eval_sets_load_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dem.evals.sets import load_deception_set, load_eval_set
    from dem.experiments.presets import load_preset

    monkeypatch.chdir(tmp_path)
    assert len(load_eval_set("dem:mask_pressure")) == len(load_eval_set("dem:mask_plain")) > 100
    assert len(load_deception_set("dem:deceptionbench")) > 20
    assert len(load_eval_set("organism:mask")) == 240
    for name in PRESETS:
        assert load_preset(name).name == name
