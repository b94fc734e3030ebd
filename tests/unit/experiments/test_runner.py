"""The runner's cache keys cover content: an edited eval set is rescored, an untouched rerun
recomputes nothing (on the model organism, whose scoring takes a second)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from dem.experiments.conditions import vanilla
from dem.experiments.session import Experiment

PRESET = """
name = "content"
model = "organism"
seeds = [0]
bootstrap = 200
[eval]
sets = ["{evalset}"]
"""


def _write_rows(path: Path, keep: slice = slice(None), swap: bool = False) -> None:
    from dem.organism.datasets import mask_csv, mask_rows

    rows = list(csv.DictReader(io.StringIO(mask_csv(mask_rows("pressure")))))[keep]
    if swap:  # the same task ids with the other answer marked true
        for r in rows:
            r["formatted_ground_truth"] = {"A": "B", "B": "A"}[r["formatted_ground_truth"]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _score(preset: Path, cache: Path) -> tuple[dict, bool]:
    exp = Experiment.create(str(preset), cache=str(cache))
    before = (
        {p.name for p in (cache / "artifacts" / "condition").glob("*")} if cache.exists() else set()
    )
    result = exp.result(vanilla())
    after = {p.name for p in (cache / "artifacts" / "condition").glob("*")}
    return dict(result.metrics), after == before


def test_an_edited_eval_set_is_rescored_and_an_untouched_one_is_not(tmp_path: Path) -> None:
    evalset, cache = tmp_path / "provided_facts.csv", tmp_path / "cache"
    preset = tmp_path / "p.toml"
    preset.write_text(PRESET.format(evalset=evalset))
    _write_rows(evalset)
    first, _ = _score(preset, cache)
    again, reused = _score(preset, cache)
    assert reused and again == first  # untouched: nothing recomputed, same figures
    _write_rows(evalset, keep=slice(0, 120))  # same file name, half the rows
    halved, reused = _score(preset, cache)
    assert not reused and (first["decided"], halved["decided"]) == (240, 120)
    _write_rows(evalset, keep=slice(0, 120), swap=True)  # same rows, answers swapped
    swapped, reused = _score(preset, cache)
    assert not reused and swapped["lie_rate"] != halved["lie_rate"]


def test_a_preset_can_ask_for_an_inspect_log_per_condition(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("inspect_ai", reason="needs the inspect extra")
    from inspect_ai.log import read_eval_log

    evalset, cache = tmp_path / "provided_facts.csv", tmp_path / "cache"
    _write_rows(evalset, keep=slice(0, 8))
    preset = tmp_path / "p.toml"
    preset.write_text(PRESET.format(evalset=evalset) + "inspect_log = true\n")
    metrics, _ = _score(preset, cache)
    (log_path,) = (cache / "artifacts" / "condition").glob("*/inspect/*.eval")
    log = read_eval_log(str(log_path))
    assert log.eval.task == "dem/mask" and len(log.samples) == 8
    assert log.results.scores[0].metrics["n_scored"].value == metrics["decided"]
