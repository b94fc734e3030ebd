"""``dem gate`` and ``pytest --pyargs dem.gate``: exit codes 0 / 1 / 2, JUnit XML, gate.json."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dem.cli import main

pytest_plugins = ["pytester"]
STRICT = """
name = "strict"
model = "organism"
seeds = [0]
bootstrap = 200
[eval]
sets = ["organism:mask"]
[gate]
mode = "non-inferiority"
max_drop = 0.0
"""


@pytest.fixture(scope="module")
def zero_adapter(tmp_path_factory) -> Path:
    """A LoRA on the organism as PEFT initialises it: it changes nothing."""
    from peft import LoraConfig, get_peft_model

    from dem.models.loading import load_model
    from dem.models.registry import resolve_model

    folder = tmp_path_factory.mktemp("zero") / "adapter"
    base, _ = load_model(resolve_model("organism"))
    get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"])).save_pretrained(str(folder))
    return folder


def _gate(tmp_path: Path, *args: str) -> tuple[int, dict, ET.Element]:
    out = tmp_path / "out"
    code = main(
        ["gate", "--baseline", "organism", "--cache", str(tmp_path.parent / "cache"),
         "--junitxml", str(out / "gate.xml"), "--report", str(out), *args]
    )  # fmt: skip
    return code, json.loads((out / "gate.json").read_text()), ET.parse(out / "gate.xml").getroot()


def test_an_unchanged_model_passes(tmp_path: Path) -> None:
    code, gate, junit = _gate(tmp_path, "--model", "organism")
    assert code == 0 and gate["verdict"] == "pass" and gate["mode"] == "non-inferiority"
    assert gate["comparison"]["effect"] == 0.0 and gate["mde"] is not None
    case = junit.find("testsuite/testcase")
    assert case is not None and case.find("failure") is None and case.find("error") is None
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["dem.verdict"] == "pass" and "dem.mde" in props
    assert (tmp_path / "out" / "report.md").is_file()


def test_a_bound_the_run_cannot_show_fails(tmp_path: Path) -> None:
    """With max_drop 0, even an unchanged model cannot show a loss below the bound: exit 1."""
    preset = tmp_path / "strict.toml"
    preset.write_text(STRICT)
    code, gate, junit = _gate(tmp_path, "--model", "organism", "--preset", str(preset))
    assert code == 1 and gate["verdict"] == "fail" and gate["exit_code"] == 1
    assert junit.find("testsuite/testcase/failure") is not None
    # the harm mode only fails a confident drop beyond the bound
    code, gate, _ = _gate(
        tmp_path, "--model", "organism", "--preset", str(preset), "--mode", "harm"
    )
    assert code == 0 and gate["mode"] == "harm"


def test_an_inert_adapter_is_an_error_never_a_pass(tmp_path: Path, zero_adapter: Path) -> None:
    code, gate, junit = _gate(tmp_path, "--model", "organism", "--adapter", str(zero_adapter))
    assert code == 2 and gate["verdict"] == "error"
    assert str(zero_adapter) in gate["reasons"][0]
    assert junit.find("testsuite/testcase/error") is not None


def test_bad_usage_is_an_error(tmp_path: Path) -> None:
    code, gate, _ = _gate(tmp_path, "--model", "no-such-model")
    assert code == 2 and "unknown model 'no-such-model'" in gate["reasons"][0]


def test_the_pytest_gate_module(pytester: pytest.Pytester, tmp_path: Path, zero_adapter) -> None:
    cache, report, junit = tmp_path / "cache", tmp_path / "report", tmp_path / "gate.xml"
    common = ["--pyargs", "dem.gate", "--dem-baseline", "organism", "--dem-cache", str(cache),
              "-p", "no:cacheprovider", "-o", "junit_family=xunit1"]  # fmt: skip
    passed = pytester.runpytest_subprocess(
        *common, "--dem-model", "organism", f"--junitxml={junit}", "--dem-report", str(report)
    )
    assert passed.ret == 0, passed.stdout.str()
    assert json.loads((report / "gate.json").read_text())["verdict"] == "pass"
    assert 'name="dem.mde"' in junit.read_text()
    errored = pytester.runpytest_subprocess(
        *common, "--dem-model", "organism", "--dem-adapter", str(zero_adapter),
        "--dem-report", str(report),
    )  # fmt: skip
    assert errored.ret == 2, errored.stdout.str()  # as `dem gate`: the gate could not decide
    errored.stdout.fnmatch_lines(["*the gate could not decide (exit code 2)*"])
    assert json.loads((report / "gate.json").read_text())["verdict"] == "error"
