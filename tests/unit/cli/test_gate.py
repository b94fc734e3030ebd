"""``dem gate``: exit codes 0 / 1 / 2, JUnit XML, gate.json, and a gate that fails closed."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dem.cli import main


def strict_preset(folder: Path) -> Path:
    """The smoke preset with ``gate.max_drop`` 0 (its eval set and judge, so cached scores hold)."""
    from dem.experiments.presets import preset_path

    text = preset_path("smoke").read_text()
    assert "max_drop = 0.02" in text
    path = folder / "strict.toml"
    path.write_text(
        text.replace('name = "smoke"', 'name = "strict"').replace(
            "max_drop = 0.02", "max_drop = 0.0"
        )
    )
    return path


def _gate(tmp_path: Path, *args: str) -> tuple[int, dict, ET.Element]:
    out = tmp_path / "out"
    code = main(
        ["gate", "--cache", str(tmp_path.parent / "cache"),
         "--junitxml", str(out / "gate.xml"), "--report", str(out), *args]
    )  # fmt: skip
    return code, json.loads((out / "gate.json").read_text()), ET.parse(out / "gate.xml").getroot()


def junit_properties(junit: ET.Element) -> dict[str, str]:
    """The ``dem.*`` properties of the one test case of a JUnit XML file."""
    case = junit.find(".//testcase")
    assert case is not None
    return {str(p.get("name")): str(p.get("value")) for p in case.iter("property")}


def test_a_small_change_passes(tmp_path: Path, nudged_organism_adapter: Path) -> None:
    code, gate, junit = _gate(
        tmp_path, "--model", "organism", "--adapter", str(nudged_organism_adapter),
        "--baseline", "organism",
    )  # fmt: skip
    assert code == 0 and gate["verdict"] == "pass" and gate["mode"] == "non-inferiority"
    assert gate["comparison"]["ci_high"] < gate["max_drop"] and 0 < gate["mde"] < gate["max_drop"]
    case = junit.find("testsuite/testcase")
    assert case is not None and case.get("classname") == "dem.gate"
    assert case.find("failure") is None and case.find("error") is None
    props = junit_properties(junit)
    assert props["dem.verdict"] == "pass" and props["dem.claim"] == "gate"
    assert props["dem.n_items"] == "240" and props["dem.n_seeds"] == "1"
    assert float(props["dem.ci_high"]) == gate["comparison"]["ci_high"]
    assert float(props["dem.mde"]) == gate["mde"] and props["dem.max_drop"] == "0.02"
    assert (tmp_path / "out" / "report.md").is_file()
    assert "a true loss" in gate["explanation"] and "resolved with 80% power" in gate["explanation"]


def test_a_bound_the_run_cannot_show_fails(tmp_path: Path, nudged_organism_adapter: Path) -> None:
    """The nudged adapter's small, resolved loss: with max_drop 0 both modes fail it (exit 1);
    the harm mode passes it under the smoke preset's bound of 0.02."""
    preset = strict_preset(tmp_path)
    against = ["--model", "organism", "--adapter", str(nudged_organism_adapter),
               "--baseline", "organism"]  # fmt: skip
    code, gate, junit = _gate(tmp_path, *against, "--preset", str(preset))
    assert code == 1 and gate["verdict"] == "fail" and gate["exit_code"] == 1
    assert junit.find("testsuite/testcase/failure") is not None
    assert junit_properties(junit)["dem.verdict"] == "fail"
    code, gate, _ = _gate(tmp_path, *against, "--preset", str(preset), "--mode", "harm")
    assert code == 1 and gate["mode"] == "harm" and gate["comparison"]["ci_low"] > 0
    code, gate, _ = _gate(tmp_path, *against, "--mode", "harm")
    assert code == 0 and gate["verdict"] == "pass"


def test_an_inert_adapter_is_an_error_never_a_pass(
    tmp_path: Path, inert_organism_adapter: Path
) -> None:
    code, gate, junit = _gate(
        tmp_path, "--model", "organism", "--adapter", str(inert_organism_adapter),
        "--baseline", "organism",
    )  # fmt: skip
    assert code == 2 and gate["verdict"] == "error"
    assert str(inert_organism_adapter) in gate["reasons"][0]
    assert junit.find("testsuite/testcase/error") is not None
    assert junit_properties(junit)["dem.verdict"] == "error"


def test_bad_usage_names_the_commands_own_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, gate, _ = _gate(tmp_path, "--model", "organism", "--baseline", "organsim")
    assert code == 2 and gate["verdict"] == "error"
    err = capsys.readouterr().err
    assert "--baseline: unknown model 'organsim' (did you mean 'organism'?)" in err
    assert "--dem-" not in err
    code, gate, _ = _gate(tmp_path, "--model", "no-such-model", "--baseline", "organism")
    assert code == 2 and "--model: unknown model 'no-such-model'" in gate["reasons"][0]
    code, _, junit = _gate(
        tmp_path, "--model", "organism", "--baseline", "smollm2", "--preset", "x"
    )
    text = (tmp_path / "out" / "gate.json").read_text()
    gate = json.loads(text, parse_constant=pytest.fail)  # strict JSON: no NaN
    assert code == 2 and gate["reasons"] == [
        "--preset: 'x' is neither one of ('smoke', 'paper') nor a TOML file"
    ]
    assert gate["mode"] is None and gate["max_drop"] is None
    assert "dem.max_drop" not in junit_properties(junit)


def test_no_candidate_or_the_baseline_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nudged_organism_adapter: Path
) -> None:
    """The gate fails closed: no default candidate, and a model against itself is no gate."""
    for missing in (["--baseline", "organism"], ["--model", "organism"]):
        with pytest.raises(SystemExit) as exc:
            main(["gate", *missing])
        assert exc.value.code == 2
    assert "the following arguments are required" in capsys.readouterr().err
    adapter = str(nudged_organism_adapter)
    for same in (
        ["--model", "organism", "--baseline", "organism"],
        ["--model", "organism", "--adapter", adapter, "--baseline", "organism",
         "--baseline-adapter", f"{adapter}/../adapter"],
    ):  # fmt: skip
        code, gate, junit = _gate(tmp_path, *same)
        assert code == 2 and gate["verdict"] == "error"
        assert "--baseline: the candidate and the baseline are the same model" in gate["reasons"][0]
        assert junit_properties(junit)["dem.verdict"] == "error"


def test_an_output_path_that_cannot_be_written_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked before anything is scored (a pass must not end in exit 1 or a traceback)."""
    good = tmp_path / "good.jsonl"
    good.write_text("{}\n")
    models = ["gate", "--model", "organism", "--baseline", "smollm2", "--cache", str(tmp_path)]
    for extra, message in (
        (["--junitxml", str(good / "g.xml")], f"--junitxml: {good}/g.xml: {good} is not a folder"),
        (["--junitxml", str(tmp_path)], f"--junitxml: {tmp_path} is a folder"),
        (["--report", str(good / "r")], f"--report: {good}/r: {good} is not a folder"),
        (["--report", str(good)], f"--report: {good} exists and is not a folder"),
    ):
        start = time.monotonic()
        assert main([*models, *extra]) == 2
        assert message in capsys.readouterr().err and time.monotonic() - start < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jsonl"]  # nothing written
