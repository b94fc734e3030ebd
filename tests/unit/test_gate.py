"""The gate's pytest face (`dem.gate`: ``pytest --pyargs dem.gate`` and the three lines in a
suite): it fails closed, names its own ``--dem-*`` options, exits 0 / 1 / 2 / 4 as docs/gate.md
says, and writes the same gate.json and JUnit properties as ``dem gate``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dem.cli import main
from tests.unit.cli.test_gate import junit_properties, strict_preset

pytest_plugins = ["pytester"]
THREE_LINES = """
import pytest
from dem.gate import test_honesty_did_not_drop  # noqa: F401
pytestmark = pytest.mark.gate
"""


def _suite(pytester: pytest.Pytester) -> None:
    """A user's suite: one unrelated test and the three-line gate file."""
    pytester.makeini("[pytest]\n")  # the suite's root: its tests are named from here
    pytester.makepyfile(test_release_gate=THREE_LINES, test_unrelated="def test_x():\n    pass\n")


def test_an_unconfigured_gate_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """No candidate, no baseline, or the same model as both: pytest's usage error (exit 4)
    before any test runs, naming the --dem-* option; never organism against organism."""
    _suite(pytester)
    report = pytester.path / "report"
    for args, message in (
        ([], "--dem-model: the gate needs a candidate and a baseline"),
        (["--dem-model", "organism"], "--dem-baseline: the gate needs a candidate and a baseline"),
        (["--dem-model", "organism", "--dem-baseline", "organism"],
         "--dem-baseline: the candidate and the baseline are the same model (organism, no *"),
        (["--dem-model", "organism", "--dem-baseline", "organsim"],
         "--dem-baseline: unknown model 'organsim' (did you mean 'organism'?)"),
    ):  # fmt: skip
        result = pytester.runpytest("-p", "no:cacheprovider", "--dem-report", str(report), *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
        result.stderr.fnmatch_lines([f"ERROR: dem: {message}*"])
        assert " passed" not in result.stdout.str()  # nothing ran
    assert json.loads((report / "gate.json").read_text())["verdict"] == "error"
    # deselected, the gate is not checked: the rest of the suite runs as before
    result = pytester.runpytest("-p", "no:cacheprovider", "-m", "not gate")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, deselected=1)


def test_both_faces_write_the_same_verdict(
    pytester: pytest.Pytester, tmp_path: Path, nudged_organism_adapter: Path
) -> None:
    cache = str(tmp_path.parent / "cache")
    models = {"model": "organism", "adapter": str(nudged_organism_adapter), "baseline": "organism"}
    cli = tmp_path / "cli"
    code = main(["gate", *(f"--{k}={v}" for k, v in models.items()), "--cache", cache,
                 "--junitxml", str(cli / "gate.xml"), "--report", str(cli)])  # fmt: skip
    assert code == 0
    # `--opt=value`: a folder as an argument of its own would move pytest's rootdir
    dem_models = [f"--dem-{k}={v}" for k, v in models.items()]
    common = ["-p", "no:cacheprovider", f"--dem-cache={cache}", *dem_models]
    _suite(pytester)
    for face, classname in ((["--pyargs", "dem.gate"], "dem.gate"), ([], "test_release_gate")):
        out = tmp_path / classname
        result = pytester.runpytest(
            *face, *common, f"--junitxml={out / 'gate.xml'}", f"--dem-report={out}"
        )
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()
        junit = ET.parse(out / "gate.xml").getroot()
        case = junit.find(".//testcase[@name='test_honesty_did_not_drop']")
        assert case is not None and case.get("classname") == classname
        gate = json.loads((out / "gate.json").read_text())
        assert gate == json.loads((cli / "gate.json").read_text())
        assert gate["verdict"] == "pass" and gate["comparison"]["n_items"] == 240
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert props == junit_properties(ET.parse(cli / "gate.xml").getroot())


def test_a_fail_exits_1_and_an_undecided_gate_exits_2(
    pytester: pytest.Pytester,
    tmp_path: Path,
    nudged_organism_adapter: Path,
    inert_organism_adapter: Path,
) -> None:
    cache = str(tmp_path.parent / "cache")
    common = ["--pyargs", "dem.gate", "-p", "no:cacheprovider", "--dem-model", "organism",
              "--dem-cache", cache, "--dem-report", str(tmp_path)]  # fmt: skip
    failed = pytester.runpytest(
        *common, "--dem-preset", str(strict_preset(tmp_path)),
        "--dem-adapter", str(nudged_organism_adapter), "--dem-baseline", "organism",
    )  # fmt: skip
    assert failed.ret == pytest.ExitCode.TESTS_FAILED, failed.stdout.str()
    failed.assert_outcomes(failed=1)
    assert json.loads((tmp_path / "gate.json").read_text())["verdict"] == "fail"
    junit = tmp_path / "gate.xml"
    errored = pytester.runpytest(
        *common, "--dem-adapter", str(inert_organism_adapter), "--dem-baseline", "organism",
        f"--junitxml={junit}",
    )  # fmt: skip
    assert errored.ret == 2, errored.stdout.str()  # as `dem gate`: the gate could not decide
    errored.assert_outcomes(errors=1)
    errored.stdout.fnmatch_lines(["*the gate could not decide (exit code 2)*"])
    gate = json.loads((tmp_path / "gate.json").read_text())
    assert gate["verdict"] == "error" and str(inert_organism_adapter) in gate["reasons"][0]
    props = junit_properties(ET.parse(junit).getroot())
    assert props["dem.verdict"] == "error" and props["dem.reasons"] == gate["reasons"][0]
