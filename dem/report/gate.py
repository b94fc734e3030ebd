"""The gate's outputs for CI systems: ``gate.json`` and a JUnit XML file.

Both front doors write the same ``gate.json`` (`write_gate_json`) and the same ``dem.*`` JUnit
properties (`gate_properties`). ``dem gate`` writes its own JUnit XML (`write_gate_junit`, one
test case with classname ``dem.gate``, a failure on a fail and an error on an error), the shape
pytest's ``--junitxml`` gives the pytest gate.
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
    for key, value in gate_properties(verdict).items():
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


def comparison_properties(cmp: Any) -> dict[str, Any]:
    """A `dem.report.results.Comparison` as JUnit properties (without the ``dem.`` prefix)."""
    return {
        "effect": cmp.effect,
        "ci_low": cmp.ci_low,
        "ci_high": cmp.ci_high,
        "threshold": cmp.threshold,
        "passed": cmp.passed,
        "n_items": cmp.n_items,
        "n_seeds": cmp.n_seeds,
    }


def gate_properties(verdict: Any) -> dict[str, Any]:
    """A `dem.experiments.gate.GateVerdict` as the JUnit properties both front doors write
    (without the ``dem.`` prefix): the verdict, the models, the mode and bound, and, when the
    gate decided, the loss with its one-sided bounds, the item and seed counts and the power."""
    props: dict[str, Any] = {
        "claim": "gate",
        "verdict": verdict.status,
        "candidate": verdict.candidate,
        "baseline": verdict.baseline,
        "mode": verdict.mode,
        "max_drop": verdict.max_drop,
        "confidence": verdict.confidence,
    }
    if verdict.comparison is None:  # an error; before the preset was read, no mode or bound
        props = {k: v for k, v in props.items() if v is not None}
        return props | {"reasons": "; ".join(verdict.reasons)}
    c = verdict.comparison
    return props | {
        "metric": c.metric,
        "effect": c.effect,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "n_items": c.n_items,
        "n_seeds": c.n_seeds,
        "mde": verdict.mde,
    }
