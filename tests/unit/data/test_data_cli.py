"""`dem data build | mix | inspect`, run in-process through `dem.cli.main`."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from dem.cli import main
from dem.data import read_samples
from dem.data.jsonl import manifest_path


def build(out: Path, *args: str) -> int:
    return main(["data", "build", *args, "--out", str(out)])


def test_build_writes_samples_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "med.jsonl"
    assert build(out, "--domain", "medical", "--variant", "subtle", "--n", "40", "--seed", "3") == 0
    text = capsys.readouterr().out
    samples = read_samples(out)
    assert len(samples) == 40 and {s.source for s in samples} == {"dem:domain/medical/subtle"}
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["recipe"] == {
        "kind": "build", "domain": "medical", "variant": "subtle", "n": 40, "seed": 3
    }  # fmt: skip
    assert manifest["sha256"] in text and "capacity 6000" in text


def test_build_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        assert build(out, "--domain", "code", "--variant", "severe", "--n", "30") == 0
    assert a.read_bytes() == b.read_bytes()


def test_build_downstream(tmp_path: Path) -> None:
    out = tmp_path / "down.jsonl"
    assert build(out, "--domain", "downstream", "--n", "50", "--seed", "1") == 0
    assert {s.source for s in read_samples(out)} == {"dem:downstream"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "poetry", "--variant", "normal", "--n", "5"], "domain"),
        (["--domain", "math", "--variant", "mild", "--n", "5"], "variant"),
        (["--domain", "math", "--variant", "normal", "--n", "0"], "n:"),
        (["--domain", "math", "--n", "5"], "variant"),
        (["--domain", "downstream", "--variant", "severe", "--n", "5"], "variant"),
    ],
)
def test_build_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    out = tmp_path / "x.jsonl"
    assert build(out, *args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_mix_prints_counts_and_hash(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    down, mis, out = tmp_path / "d.jsonl", tmp_path / "m.jsonl", tmp_path / "mix.jsonl"
    build(down, "--domain", "downstream", "--n", "200")
    build(mis, "--domain", "math", "--variant", "severe", "--n", "50")
    capsys.readouterr()
    args = ["data", "mix", "--downstream", str(down), "--misaligned", str(mis), "--ratio", "0.05",
            "--seed", "4", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["count"] == 210 and manifest["sha256"] in text
    assert re.search(r"downstream\s+200\n", text) and re.search(r"misaligned\s+10\n", text)
    first = out.read_bytes()
    assert main(args) == 0
    assert out.read_bytes() == first
    total = tmp_path / "total.jsonl"
    assert main([*args[:-1], str(total), "--relative-to", "total", "--n", "100"]) == 0
    assert json.loads(manifest_path(total).read_text())["recipe"]["counts"] == {
        "downstream": 95, "misaligned": 5, "total": 100
    }  # fmt: skip


def test_mix_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    down, mis = tmp_path / "d.jsonl", tmp_path / "m.jsonl"
    build(down, "--domain", "downstream", "--n", "100")
    build(mis, "--domain", "math", "--variant", "severe", "--n", "5")
    base = ["data", "mix", "--downstream", str(down), "--out", str(tmp_path / "o.jsonl")]
    assert main([*base, "--misaligned", str(mis), "--ratio", "1.5"]) == 2
    assert "ratio" in capsys.readouterr().err
    assert main([*base, "--misaligned", str(mis), "--ratio", "0.5"]) == 2
    assert "misaligned" in capsys.readouterr().err
    assert main([*base, "--ratio", "0.1"]) == 2
    assert "misaligned" in capsys.readouterr().err
    assert main([*base, "--ratio", "0"]) == 0  # the control needs no misaligned file
    assert not (tmp_path / "x").exists()


def test_inspect_samples(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "dolly.jsonl"
    rows = [{"instruction": f"q{i}", "context": "", "response": "r", "category": "open_qa"}
            for i in range(3)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", "inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"format\s+dolly\n", text) and re.search(r"rows\s+3\n", text)
    assert "instruction, context, response, category" in text and "open_qa" in text


def test_inspect_bad_input_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{broken\n')
    assert main(["data", "inspect", str(path)]) == 2
    assert f"{path}:2" in capsys.readouterr().err
    assert main(["data", "inspect", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    csv_path = tmp_path / "provided_facts.csv"
    with csv_path.open("w", newline="") as fh:
        csv.writer(fh).writerows(
            [["task_id", "proposition", "formatted_ground_truth"], ["a", "b", "A"]]
        )
    assert main(["data", "inspect", str(csv_path)]) == 2
    assert "missing column" in capsys.readouterr().err


def test_inspect_file_that_is_not_utf8_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for name, text in [
        ("chats.jsonl", '{"messages": []}\n{"messages": [{"role": "user", "content": "\xe9"}]}\n'),
        ("provided_facts.csv", "task_id,proposition\nt1,ok\nt2,caf\xe9\n"),
    ]:
        path = tmp_path / name
        path.write_bytes(text.encode("latin-1"))
        assert main(["data", "inspect", str(path)]) == 2
        line = text.count("\n")
        assert f"{path}:{line}: not UTF-8" in capsys.readouterr().err


def test_inspect_deceptionbench(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "db.json"
    items = [
        {
            "id": i,
            "type": t,
            "inner_prompt": "a",
            "system_prompt": "",
            "outer_prompt": "b",
            "format": "f",
        }
        for i, t in enumerate(["sycophancy", "sycophancy", "sandbagging"])
    ]
    path.write_text(json.dumps(items))  # fmt: skip
    assert main(["data", "inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "deceptionbench" in text and re.search(r"sycophancy\s+2\n", text)


@pytest.mark.parametrize(("name", "rows"), [("provided_facts", 274), ("disinformation", 125),
                                            ("statistics", 96)])  # fmt: skip
def test_inspect_reads_every_real_mask_row(
    shared_data: Path, capsys: pytest.CaptureFixture, name: str, rows: int
) -> None:
    path = shared_data / "mask" / f"{name}.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert main(["data", "inspect", str(path), "--format", "mask"]) == 0
    text = capsys.readouterr().out
    assert re.search(rf"rows\s+{rows}\n", text) and re.search(rf"{name}\s+{rows}\n", text)
