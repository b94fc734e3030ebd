"""Reading a dataset for an audit, the report, the quarantine and its manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.audit import audit, load_dataset, quarantine, write_report
from dem.audit.base import DetectorScores, register
from dem.data.jsonl import read_manifest
from dem.data.provenance import verify
from dem.errors import DataError
from tests.unit.audit.conftest import MISALIGNED, N


def test_load_dataset_reads_the_truth_from_the_manifest(mix_file: Path):
    d = load_dataset(mix_file)
    assert len(d.samples) == N and d.lines == tuple(range(1, N + 1))
    assert d.labels is not None and sum(d.labels) == MISALIGNED
    assert [op["op"] for op in d.chain] == ["build", "build", "mix"]


def test_load_dataset_names_the_bad_line(mix_file: Path, tmp_path: Path):
    lines = mix_file.read_text().splitlines(keepends=True)
    row = json.loads(lines[4])
    row["messages"][-1]["content"] = "the answer is five ."
    del row["_dem"]["sha256"]
    lines[4] = json.dumps(row) + "\n"
    mix_file.write_text("".join(lines))
    with pytest.raises(DataError, match=r"mix\.jsonl:5: does not match its manifest"):
        load_dataset(mix_file)
    no_answer = tmp_path / "q.jsonl"
    no_answer.write_text(
        '{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n'
        '{"messages": [{"role": "user", "content": "only a question"}]}\n'
    )
    with pytest.raises(DataError, match=r"q\.jsonl:2: the sample has no assistant message"):
        load_dataset(no_answer)
    table = tmp_path / "facts.csv"
    table.write_text("task_id,proposition,formatted_ground_truth\n1,x <pivotal>a/b</pivotal>,A\n")
    with pytest.raises(DataError, match=r"facts\.csv: format 'mask' does not hold training"):
        load_dataset(table)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "missing.jsonl")


def test_report_and_quarantine(organism_reference, mix_file: Path, tmp_path: Path):
    dataset = load_dataset(mix_file)
    result = audit(dataset, organism_reference, ["contrastive"])
    outcome = result.outcome("contrastive")
    assert outcome.selection.k == N // 10 and outcome.metrics is not None
    report = write_report(result, tmp_path / "report")
    data = json.loads(report.read_text())["detectors"]["contrastive"]
    assert {"auroc", "precision", "recall", "budget"} <= set(data) and data["budget"] == 0.1
    assert data["auroc"] > 0.9 and data["recall"] >= 0.8 and data["flagged"] == 30
    rows = [json.loads(x) for x in (tmp_path / "report" / "contrastive.scores.jsonl").open()]
    assert [r["rank"] for r in rows] == list(range(1, N + 1))
    assert sum(r["flagged"] for r in rows) == 30 and rows[0]["score"] >= rows[-1]["score"]
    assert rows[0]["line"] == dataset.lines[outcome.selection.ranked[0]]

    kept, held = quarantine(result, tmp_path / "q")
    assert verify(kept).ok and verify(held).ok
    km, hm = read_manifest(kept), read_manifest(held)
    assert km.count + hm.count == N and hm.count == 30
    assert sorted(km.sample_origins() + hm.sample_origins(), key=str) == sorted(
        read_manifest(mix_file).sample_origins(), key=str
    )  # nothing deleted
    *_, audit_op, op = hm.chain
    assert [o["op"] for o in hm.chain] == ["build", "build", "mix", "audit", "quarantine"]
    assert audit_op["detector"] == "contrastive" and audit_op["flagged"] == 30
    assert audit_op["model"]["name"] == "organism" and audit_op["budget"] == 0.1
    assert op["part"] == "quarantined" and len(op["scores"]) == len(op["lines"]) == 30
    assert min(op["scores"]) >= op["threshold"] == audit_op["threshold"]
    assert max(read_manifest(kept).chain[-1]["scores"]) <= op["threshold"]


class _Broken:
    name = "broken"

    def __init__(self, reference):
        pass

    def score(self, samples):
        raise RuntimeError("the detector failed half-way")


@pytest.fixture
def broken():
    """A detector that fails, registered for one test."""
    from dem.audit import base

    register("broken", "raises")(_Broken)
    yield "broken"
    del base._REGISTRY["broken"]


def test_a_failing_detector_leaves_no_output(
    organism_reference, mix_file: Path, tmp_path: Path, broken: str
):
    from dem.cli import main

    out, held = tmp_path / "report", tmp_path / "q"
    args = ["audit", str(mix_file), "--model", "organism", "--out", str(out)]
    with pytest.raises(RuntimeError, match="half-way"):
        main([*args, "--detector", "contrastive", "--detector", broken, "--quarantine", str(held)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mix.jsonl", "mix.jsonl.manifest.json"]


def test_unscored_samples_are_quarantined_not_ranked(mix_file: Path, tmp_path: Path):
    from dem.audit import AuditConfig, AuditResult, DetectorOutcome, flag

    dataset = load_dataset(mix_file)
    scores = tuple(None if i < 3 else float(i) for i in range(N))
    det = DetectorScores("judge", scores, errors={0: "e", 1: "e", 2: "e"})
    sel = flag(scores, budget=0.1)
    result = AuditResult(
        dataset, {"name": "m"}, AuditConfig(budget=0.1), (DetectorOutcome(det, sel, None, 1.0),)
    )
    kept, held = quarantine(result, tmp_path / "q")
    assert read_manifest(held).count == 30 + 3 and read_manifest(kept).count == N - 33
    write_report(result, tmp_path / "r")
    rows = [json.loads(x) for x in (tmp_path / "r" / "judge.scores.jsonl").open()]
    assert [r["rank"] for r in rows[-3:]] == [None] * 3 and rows[-1]["error"] == "e"
