"""`dem audit`, run in-process: the report, the quarantine, and bad input that writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.cli import main
from tests.unit.audit.conftest import mix_file  # noqa: F401 - the fixture


def _outputs(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_audit_prints_and_writes_the_metrics(
    mix_file: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    import torch

    torch.set_num_threads(1)
    out, q = tmp_path / "report", tmp_path / "q"
    args = ["audit", str(mix_file), "--model", "organism", "--out", str(out), "--budget", "0.2"]
    assert main([*args, "--quarantine", str(q), "--set", "n_resamples=200", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "300 samples, 30 misaligned per its manifest" in text
    assert "contrastive  60       0" in text and "auroc" in text
    got = json.loads((out / "audit.json").read_text())
    det = got["detectors"]["contrastive"]
    assert det["budget"] == 0.2 and det["recall"] >= 0.8 and det["auroc"] > 0.9
    assert got["config"]["n_resamples"] == 200 and got["model"]["name"] == "organism"
    assert "kept 240" in text and "quarantined 60" in text
    assert _outputs(q) == [
        "kept.jsonl", "kept.jsonl.manifest.json", "quarantined.jsonl",
        "quarantined.jsonl.manifest.json",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detector", "oracle"], "--detector: unknown detector 'oracle'; one of contrastive"),
        (["--budget", "1.5"], "--budget: expected a share in (0, 1), got 1.5"),
        (["--budget", "0"], "--budget: expected a share in (0, 1), got 0"),
        (["--budget", "0.1", "--threshold", "0.2"], "--threshold: give a budget or a threshold"),
        (["--set", "rank=0"], "--set rank: expected an integer >= 1"),
        (["--set", "colour"], "--set: 'colour' is not FIELD=VALUE"),
    ],
)
def test_bad_options_are_named_and_write_nothing(
    mix_file: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    extra: list[str],
    message: str,
) -> None:
    args = ["audit", str(mix_file), "--model", "organism", "--out", str(tmp_path / "r")]
    assert main([*args, "--quarantine", str(tmp_path / "q"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert _outputs(tmp_path) == ["mix.jsonl", "mix.jsonl.manifest.json"]


def test_bad_files_and_models_are_named_and_write_nothing(
    mix_file: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a dataset\n")
    prose = tmp_path / "prose.jsonl"
    prose.write_text("this is not a dataset\n")
    empty = tmp_path / "model"
    empty.mkdir()
    cases = [
        ([str(notes), "--model", "organism"], f"{notes}: unknown data file type '.txt'"),
        ([str(prose), "--model", "organism"], f"{prose}:1: malformed JSON"),
        ([str(mix_file), "--model", str(empty)], f"model: {empty} is a folder but holds no"),
        ([str(mix_file), "--model", "no-such-model"], "model: unknown model 'no-such-model'"),
    ]
    for args, message in cases:
        assert main(["audit", *args, "--out", str(tmp_path / "r")]) == 2
        assert message in capsys.readouterr().err
    assert _outputs(tmp_path) == [
        "mix.jsonl",
        "mix.jsonl.manifest.json",
        "model",
        "notes.txt",
        "prose.jsonl",
    ]
