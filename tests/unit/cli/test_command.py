"""`check_output_file` / `check_output_dir`: every command that writes refuses an output path
it cannot write at once (exit 2, one line naming the option), before any work, writing nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dem.cli import main
from dem.cli._command import check_output_dir, check_output_file
from dem.errors import ConfigError


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A folder holding an existing folder ``folder/`` and an existing file ``file``."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep me\n")
    return tmp_path


def test_a_file_output(place: Path) -> None:
    check_output_file("--json", place / "new.json")
    check_output_file("--json", place / "file")  # replaced, as any output file is
    check_output_file("--json", place / "new" / "deeper" / "x.json")  # folders are made
    check_output_file("--json", None)
    with pytest.raises(ConfigError, match=r"^--json: .*folder is a folder; name a file$"):
        check_output_file("--json", place / "folder")
    with pytest.raises(ConfigError, match=r"^--junitxml: .*file/a/g\.xml: .*file is not a folder"):
        check_output_file("--junitxml", place / "file" / "a" / "g.xml")


def test_a_folder_output(place: Path) -> None:
    check_output_dir("--out", place / "folder")
    check_output_dir("--out", place / "new" / "deeper")
    with pytest.raises(ConfigError, match=r"^--out: .*file exists and is not a folder$"):
        check_output_dir("--out", place / "file")
    with pytest.raises(ConfigError, match=r"^--report: .*file/r: .*file is not a folder$"):
        check_output_dir("--report", place / "file" / "r")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_folder_without_write_permission(place: Path) -> None:
    locked = place / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(ConfigError, match=r"^--json: cannot write into .*locked"):
            check_output_file("--json", locked / "sub" / "x.json")
        with pytest.raises(ConfigError, match=r"^--out: cannot write into .*locked"):
            check_output_dir("--out", locked)
    finally:
        locked.chmod(0o700)


# (command line with {out} where the output goes, kind of output). The inputs need not exist:
# the output is checked first.
FILE_OUTPUTS = [
    "eval mask --model organism --data organism:mask --json {out}",
    "eval mask --model organism --data organism:mask --records {out}",
    "eval deceptionbench --model organism --data none.json --json {out}",
    "gate --model organism --baseline organism --junitxml {out}",
    "guard eval --model organism --data organism:mask --json {out}",
    "data build --domain downstream --n 5 --out {out}",
    "data mix --downstream none.jsonl --ratio 0 --out {out}",
    "interact run --model organism --json {out}",
    "interact monitor none-run --json {out}",
]
DIR_OUTPUTS = [
    "grid mix_ratio --report {out}",
    "demo --report {out}",
    "gate --model organism --baseline organism --report {out}",
    "audit none.jsonl --model organism --out {out}",
    "audit none.jsonl --model organism --out ok --quarantine {out}",
    "redteam --model organism --data organism:mask --out {out}",
    "guard eval --model organism --data organism:mask --log-dir {out}",
    "guard report none-log --out {out}",
    "data export none.jsonl --to {out}",
    "train sft --model organism --data none.jsonl --out {out}",
    "report none-report --out {out}",
    "eval mask --model organism --data organism:mask --inspect-log {out}",
    "organism datasets --out {out}",
]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _refused(command: str, out: Path, option: str, capsys: pytest.CaptureFixture) -> None:
    root = Path.cwd()
    before = _tree(root)
    start = time.perf_counter()
    code = main(command.format(out=out).split())
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith(f"dem: error: {option}: "), err
    assert elapsed < 5, f"{command}: {elapsed:.1f} s before the refusal"
    assert _tree(root) == before  # nothing written


def _option(command: str) -> str:
    return command.split(" {out}")[0].split()[-1]


@pytest.mark.parametrize("command", FILE_OUTPUTS)
def test_commands_refuse_a_file_output_they_cannot_write(place, command, capsys, monkeypatch):
    monkeypatch.chdir(place)
    _refused(command, place / "folder" / "..", _option(command), capsys)  # a folder
    _refused(command, place / "file" / "x.out", _option(command), capsys)  # under a file
    assert (place / "file").read_text() == "keep me\n"


@pytest.mark.parametrize("command", DIR_OUTPUTS)
def test_commands_refuse_a_folder_output_they_cannot_write(place, command, capsys, monkeypatch):
    monkeypatch.chdir(place)
    _refused(command, place / "folder" / ".." / "file", _option(command), capsys)  # a file
    _refused(command, place / "file" / "sub", _option(command), capsys)  # under a file
    assert (place / "file").read_text() == "keep me\n"
