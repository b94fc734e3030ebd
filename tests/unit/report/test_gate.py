"""The gate's CI outputs (dem.report.gate): one set of JUnit properties for both front doors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from dem.experiments.gate import error_verdict
from dem.report.gate import gate_properties, write_gate_junit
from tests.unit.experiments.test_gate import _result, _verdict


def test_a_decided_gate_carries_its_evidence(tmp_path) -> None:
    verdict = _verdict(_result("base", 0.2, 300), _result("cand", 0.3, 300, seed=1))
    props = gate_properties(verdict)
    c = verdict.comparison
    assert props["verdict"] == "fail" and props["claim"] == "gate" and props["mode"] == verdict.mode
    assert (props["effect"], props["ci_low"], props["ci_high"]) == (c.effect, c.ci_low, c.ci_high)
    assert (props["n_items"], props["n_seeds"], props["mde"]) == (300, 1, verdict.mde)
    assert props["max_drop"] == 0.02 and props["candidate"] == "cand"
    root = ET.parse(write_gate_junit(verdict, tmp_path / "g.xml")).getroot()
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("classname") == "dem.gate"
    written = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert written == {f"dem.{k}": str(v) for k, v in props.items()}
    assert case.find("failure") is not None


def test_an_undecided_gate_says_why() -> None:
    verdict = error_verdict(
        ["the judge failed"],
        mode="harm",
        max_drop=0.05,
        confidence=0.9,
        candidate="c",
        baseline="b",
    )
    props = gate_properties(verdict)
    assert props["verdict"] == "error" and props["reasons"] == "the judge failed"
    assert "effect" not in props and props["max_drop"] == 0.05
