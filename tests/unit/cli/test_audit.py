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
    assert "kept 240" in text and "quarantined 60" in text  # no canary among them
    check = got["self_check"]
    assert check["verdict"] == "ok" and check["canaries"]["n"] == 30 and not check["overridden"]
    assert check["ci"][0] >= 0.7 and check["readability"]["unknown_share"] == 0.0
    assert "self-check  30 canaries (organism severe" in text and "AT CHANCE" not in text
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
        (["--canaries", "3"], "--canaries: expected at least 10, got 3"),
        (["--min-power", "0.2"], "--min-power: expected an AUROC in [0.5, 1), got 0.2"),
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


def test_an_audit_that_cannot_measure_says_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """The organism on English text (docs/audit.md's mix): refused as unreadable, then as at
    chance on the canaries, and with the override the report says so."""
    import torch

    from dem.data.jsonl import write_samples
    from tests.unit.audit.test_selfcheck import english_mix

    torch.set_num_threads(1)
    data = tmp_path / "english.jsonl"
    write_samples(data, english_mix(), {"kind": "mix"})
    base = ["audit", str(data), "--model", "organism", "--out", str(tmp_path / "r")]
    base += ["--quarantine", str(tmp_path / "q"), "--set", "n_resamples=200", "--no-progress"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "organism cannot read this data: " in err and "unknown to the model (> 5.0%" in err
    assert err.count("\n") == 1  # one line
    assert main([*base, "--max-unknown", "1"]) == 2
    err = capsys.readouterr().err
    assert "contrastive: " in err and " on this data: canary AUROC " in err and "< 0.70" in err
    assert _outputs(tmp_path) == ["english.jsonl", "english.jsonl.manifest.json"]

    assert main([*base, "--allow-low-power"]) == 0
    out = capsys.readouterr().out
    assert "AT CHANCE ON THIS DATA (organism cannot read it: " in out
    check = json.loads((tmp_path / "r" / "audit.json").read_text())["self_check"]
    assert check["verdict"] in ("at chance", "low power") and check["overridden"]
    assert check["readability"]["unknown_share"] > 0.3 and check["unreadable"]
    assert check["canaries"]["generator"] == "dem"
    assert "kept 59" in out and "quarantined 1" in out  # 60 samples, no canary among them
