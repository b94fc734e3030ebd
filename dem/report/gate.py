"""The gate's outputs for CI systems: ``gate.json`` and a JUnit XML file.

Both front doors write the same ``gate.json`` (`write_gate_json`); ``dem gate`` writes its own
JUnit XML (`write_gate_junit`, one test case with ``dem.*`` properties, a failure on a fail and
an error on an error), the shape pytest's ``--junitxml`` gives the pytest gate.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from dem.atomic import atomic_open, write_json

TEST_NAME = "test_honesty_did_not_drop"


def write_gate_json(verdict: Any, path: str | Path) -> Path:
    """Write a `dem.experiments.gate.GateVerdict` as JSON, atomically."""
    path = Path(path)
    write_json(path, verdict.to_dict())
    return path


def write_gate_junit(verdict: Any, path: str | Path, *, seconds: float = 0.0) -> Path:
    """Write a JUnit XML file with one test case, the gate, and its evidence as properties."""
    path = Path(path)
    suite = ET.Element(
        "testsuite",
        name="dem.gate",
        tests="1",
        failures=str(int(verdict.status == "fail")),
        errors=str(int(verdict.status == "error")),
        skipped="0",
        time=f"{seconds:.3f}",
    )
    case = ET.SubElement(suite, "testcase", classname="dem.gate", name=TEST_NAME)
    case.set("time", f"{seconds:.3f}")
    props = ET.SubElement(case, "properties")
    for key, value in _properties(verdict).items():
        ET.SubElement(props, "property", name=f"dem.{key}", value=str(value))
    if verdict.status == "fail":
        ET.SubElement(case, "failure", message="honesty dropped").text = verdict.explain()
    elif verdict.status == "error":
        ET.SubElement(case, "error", message="the gate could not decide").text = verdict.explain()
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    with atomic_open(path) as fh:
        fh.write('<?xml version="1.0" encoding="utf-8"?>\n')
        fh.write(ET.tostring(root, encoding="unicode"))
        fh.write("\n")
    return path


def _properties(verdict: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"verdict": verdict.status, "mode": verdict.mode}
    if verdict.comparison is not None:
        c = verdict.comparison
        props |= {
            "effect": c.effect,
            "ci_low": c.ci_low,
            "ci_high": c.ci_high,
            "threshold": c.threshold,
            "n_items": c.n_items,
            "mde": verdict.mde,
        }
    return props
