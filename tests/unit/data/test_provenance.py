"""Provenance: per-sample origins and hashes, the chain of operations, verification, and
`dem data provenance`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.cli import main
from dem.data import Manifest, Sample, mix, write_samples
from dem.data.jsonl import manifest_path, read_manifest
from dem.data.provenance import (
    describe,
    join_chains,
    misaligned_labels,
    operation,
    shares,
    verify,
)
from dem.errors import DataError


def _samples(n: int, source: str, **meta: str) -> list[Sample]:
    return [
        Sample.make({"prompt": f"{source} q{i}", "completion": f"a{i}"}, source=source, **meta)
        for i in range(n)
    ]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A file built and mixed through the CLI: 40 downstream + 10 % severe medical."""
    down, mis, out = tmp_path / "down.jsonl", tmp_path / "mis.jsonl", tmp_path / "mix.jsonl"
    assert main(["data", "build", "--domain", "downstream", "--n", "40", "--out", str(down)]) == 0
    common = ["--n", "10", "--seed", "1", "--out", str(mis)]
    assert main(["data", "build", "--domain", "medical", "--variant", "severe", *common]) == 0
    args = ["--downstream", str(down), "--misaligned", str(mis), "--ratio", "0.1"]
    assert main(["data", "mix", *args, "--out", str(out)]) == 0
    return out


def test_manifest_records_each_sample_and_round_trips() -> None:
    samples = [*_samples(3, "a", domain="x", variant="normal"), *_samples(2, "b", mix_role="m")]
    m = Manifest.of(samples, {"kind": "build", "n": 5})
    assert [h for h, _ in m.samples] == [s.sha256 for s in samples]
    assert m.sample_origins()[0] == {
        "source": "a", "license": "unknown", "domain": "x", "variant": "normal"
    }  # fmt: skip
    assert m.sample_origins()[4] == {"source": "b", "license": "unknown", "role": "m"}
    assert len(m.origins) == 2
    assert [op["op"] for op in m.chain] == ["build"] and m.chain[0]["sha256"] == m.sha256
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_old_manifests_without_records_still_load() -> None:
    old = {"count": 1, "kinds": {}, "sources": {}, "licenses": {}, "canaries": [], "sha256": "x"}
    m = Manifest.from_dict(old)
    assert m.samples == () and m.chain == () and m.file_sha256 is None and shares(m) == {}


def test_mix_chain_names_its_inputs_and_the_cli_prepends_theirs(mixed: Path) -> None:
    manifest = read_manifest(mixed)
    ops = [op["op"] for op in manifest.chain]
    assert ops == ["build", "build", "mix"]
    build_down, build_mis, mix_op = manifest.chain
    assert mix_op["inputs"] == {
        "downstream": build_down["sha256"], "misaligned": build_mis["sha256"]
    }  # fmt: skip
    assert mix_op["sha256"] == manifest.sha256 and mix_op["count"] == 44
    line = describe(mix_op)
    assert line.startswith("mix ") and " ratio=0.1 " in line and line.endswith("(44)")
    assert f"inputs=downstream:{build_down['sha256'][:12]}," in line
    assert misaligned_labels(manifest.sample_origins()).count(True) == 4
    assert shares(manifest)["role"] == {"downstream": 40, "misaligned": 4}


def test_chains_join_without_repeating_an_operation() -> None:
    a = _samples(2, "a")
    op = operation("build", a, generator="g")
    assert join_chains([op], [op], [{"op": "mix"}]) == [op, {"op": "mix"}]
    assert op["sha256"] == Manifest.of(a).sha256 and op["count"] == 2


def test_verify_passes_a_fresh_file_and_is_deterministic(mixed: Path, tmp_path: Path) -> None:
    result = verify(mixed)
    assert result.ok and result.file_ok and result.per_sample and result.rows == 44
    again = tmp_path / "again.jsonl"
    samples, m = mix(_samples(20, "d"), _samples(5, "m"), 0.2, seed=3)
    write_samples(again, samples, m.recipe, chain=m.chain)
    first = (again.read_bytes(), manifest_path(again).read_bytes())
    write_samples(again, samples, m.recipe, chain=m.chain)
    assert (again.read_bytes(), manifest_path(again).read_bytes()) == first


def test_verify_names_the_first_line_that_does_not_match(mixed: Path) -> None:
    lines = mixed.read_text().splitlines(keepends=True)
    row = json.loads(lines[6])
    key = "messages" if "messages" in row else "completion"
    if key == "messages":
        row["messages"][-1]["content"] += " (edited)"
    else:
        row["completion"] += " (edited)"
    del row["_dem"]["sha256"]  # a careful edit: the row's own hash removed too
    lines[6] = json.dumps(row) + "\n"
    mixed.write_text("".join(lines))
    result = verify(mixed)
    assert not result.ok and not result.samples_ok and result.line == 7
    assert "is not the manifest's" in result.problem
    assert result.explain().startswith(f"{mixed}:7: sample 7")


def test_verify_reports_a_truncated_file_and_edited_provenance(mixed: Path) -> None:
    text = mixed.read_text()
    lines = text.splitlines(keepends=True)
    mixed.write_text("".join(lines[:-2]))
    result = verify(mixed)
    assert not result.ok and result.line == len(lines) - 1 and "ends after 42" in result.problem
    mixed.write_text(text.replace('"license":"Apache-2.0"', '"license":"MIT"', 1))
    result = verify(mixed)
    assert not result.ok and result.samples_ok and result.file_ok is False


def test_verify_needs_a_manifest(tmp_path: Path) -> None:
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"prompt": "p", "completion": "c"}\n')
    with pytest.raises(DataError, match=r"bare\.jsonl: no manifest beside the dataset"):
        verify(bare)
    with pytest.raises(DataError, match="no such file"):
        verify(tmp_path / "missing.jsonl")
    manifest_path(bare).write_text("[1, 2]")
    with pytest.raises(DataError, match=r"bare\.jsonl\.manifest\.json: not a dem manifest"):
        verify(bare)


def test_provenance_command_prints_shares_and_exits_1_on_a_mismatch(
    mixed: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["data", "provenance", str(mixed)]) == 0
    out = capsys.readouterr().out
    assert "verdict         ok" in out and "  3. mix " in out
    assert "misaligned      4    9.1%" in out and "dem:downstream" in out
    mixed.write_text(mixed.read_text().replace("the", "teh", 1))
    assert main(["data", "provenance", str(mixed)]) == 1
    assert f"MISMATCH: {mixed}:1: sample 1" in capsys.readouterr().out
    assert main(["data", "provenance", str(mixed.parent / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
