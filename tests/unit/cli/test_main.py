"""The ``dem`` entry point (`dem.cli.main`): exit codes survive a reader that closes the pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dem.data import Sample, write_samples

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def bad_jsonl(tmp_path: Path) -> Path:
    """A dem dataset whose first sample was edited after its manifest was written."""
    path = tmp_path / "bad.jsonl"
    samples = [
        Sample.make({"prompt": f"q{i}", "completion": f"a{i}"}, source="t") for i in range(5)
    ]
    write_samples(path, samples, {"op": "test"})
    path.write_text(path.read_text().replace("q0", "q9", 1))
    return path


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def test_a_reader_that_closes_the_pipe_keeps_the_exit_code(bad_jsonl: Path) -> None:
    """The reader is gone before dem writes a byte: the mismatch still exits 1, quietly."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dem", "data", "provenance", str(bad_jsonl)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # every later write of dem's hits EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1, err
    assert "Error" not in err and "Traceback" not in err


def test_head_in_a_shell_pipeline(bad_jsonl: Path) -> None:
    script = (
        f"{sys.executable} -m dem data provenance {bad_jsonl} | head -3; "
        'echo "status=${PIPESTATUS[0]}"'
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=60
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("file ") and lines[-1] == "status=1"
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
