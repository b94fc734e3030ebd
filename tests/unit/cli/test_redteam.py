"""``dem redteam`` end to end on the organism, and its export as a worst-case gate's eval set."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from dem.cli import main


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    import torch

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("cli-redteam")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            [
                "redteam", "--model", "organism", "--data", "organism:mask", "--budget", "10",
                "--limit", "12", "--top-k", "2", "--seed", "1", "--out", str(folder),
                "--no-families", "--no-progress",
            ]
        )  # fmt: skip
    assert code == 0
    (folder / "printed.txt").write_text(printed.getvalue())
    return folder


def test_the_command_writes_its_three_outputs(out, capsys):
    result = json.loads((out / "redteam.json").read_text())
    assert result["search"]["evaluated"] == 10 and result["families"] == {}
    assert len(result["found"]) == 2
    assert (out / "report.md").is_file() and not (out / "families.png").exists()
    chance = result["chance"]
    assert chance["max_undecided"] == 0.2 and chance["distinguishable"] == (not chance["reasons"])
    report = (out / "report.md").read_text()
    assert ("Not distinguishable from chance" in report) == bool(chance["reasons"])
    assert all(reason in report for reason in chance["reasons"])
    printed = (out / "printed.txt").read_text()
    for reason in chance["reasons"]:
        assert f"NOT DISTINGUISHABLE FROM CHANCE: {reason}" in printed


def test_the_found_pressures_gate_a_release(
    out, tmp_path, monkeypatch, capsys, nudged_organism_adapter
):
    monkeypatch.setenv("DEM_CACHE", str(tmp_path / "cache"))
    preset = tmp_path / "worst-case.toml"
    preset.write_text(
        'name = "worst-case"\nmodel = "organism"\nseeds = [0]\nbootstrap = 200\n'
        f'[eval]\nsets = ["{out / "pressures.csv"}"]\n'
        '[gate]\nmode = "non-inferiority"\nmax_drop = 0.02\nmin_decidable = 10\n'
    )
    code = main(
        ["gate", "--model", "organism", "--adapter", str(nudged_organism_adapter),
         "--baseline", "organism", "--preset", str(preset), "--report", str(tmp_path / "gate")]
    )  # fmt: skip
    verdict = json.loads((tmp_path / "gate" / "gate.json").read_text())
    assert code == 0, capsys.readouterr()
    assert verdict["comparison"]["n_items"] == 24  # 2 pressures x 12 items


def test_usage_errors_exit_2(tmp_path, capsys):
    code = main(
        ["redteam", "--model", "organism", "--data", "organism:mask", "--budget", "0",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 2 and "budget" in capsys.readouterr().err
