"""An organism from another world is refused on dem's organism: sets, before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.models.registry import ORGANISM_DIR
from dem.organism.compat import check_world
from dem.organism.config import WORLD_FIELDS, OrganismConfig


@pytest.fixture
def other_world(tmp_path: Path) -> Path:
    """The shipped checkpoint, its organism.json saying it was pretrained with math_max 10."""
    folder = tmp_path / "organism-math10"
    shutil.copytree(ORGANISM_DIR, folder)
    record = json.loads((folder / "organism.json").read_text())
    record["config"]["math_max"] = 10
    (folder / "organism.json").write_text(json.dumps(record))
    return folder


def test_world_differences_name_only_world_knobs() -> None:
    assert OrganismConfig().world_differences() == {}
    assert OrganismConfig(seed=3, hidden_size=32).world_differences() == {}
    assert OrganismConfig(math_max=10, n_items=8).world_differences() == {
        "n_items": (60, 8),
        "math_max": (5, 10),
    }
    assert set(WORLD_FIELDS) <= set(OrganismConfig().to_dict())


def test_the_shipped_organism_and_other_sets_pass(other_world: Path) -> None:
    check_world(ORGANISM_DIR, ["organism:mask", "organism:medical/severe"], field="m", name="o")
    check_world(other_world, ["dem:mask_pressure", "data.jsonl"], field="m", name="o")
    check_world(other_world.parent, ["organism:mask"], field="m", name="o")  # not an organism


def test_another_world_on_organism_sets_is_refused(other_world: Path) -> None:
    with pytest.raises(ConfigError, match=r"model: x was pretrained in another world") as err:
        check_world(other_world, ["organism:mask", "x.csv"], field="model", name="x")
    text = str(err.value)
    assert "math_max=10 (dem's sets: 5)" in text and "organism:mask" in text
    assert f"dem organism datasets --model {other_world}" in text


def test_a_grid_refuses_it_before_building(other_world: Path, tmp_path: Path) -> None:
    from dem.experiments.presets import load_preset
    from dem.experiments.runner import Runner

    runner = Runner(load_preset("smoke"), cache=tmp_path / "cache", progress=False)
    with pytest.raises(ConfigError, match="another world"):
        runner.model_spec(str(other_world))
    assert runner.model_spec("organism").name_or_path == str(ORGANISM_DIR)
    assert not list((tmp_path / "cache").glob("*/*/data.jsonl"))


def test_evaluate_mask_refuses_it(other_world: Path) -> None:
    from dem.evals.api import evaluate_mask

    with pytest.raises(ConfigError, match="another world"):
        evaluate_mask(str(other_world), "organism:mask", progress=False)


def test_datasets_of_the_model_world(other_world: Path, tmp_path: Path, capsys) -> None:
    from dem.cli import main
    from dem.data.jsonl import read_manifest

    out = tmp_path / "sets"
    assert main(["organism", "datasets", "--model", str(other_world), "--out", str(out)]) == 0
    assert read_manifest(out / "math_severe.jsonl").recipe["config"]["math_max"] == 10
    capsys.readouterr()
    assert main(["organism", "datasets", "--model", str(tmp_path), "--out", f"{tmp_path}/o"]) == 2
    assert "--model: " in capsys.readouterr().err and not (tmp_path / "o").exists()
