"""The audit on a small real model and real data (slow: needs the smollm2 model): Betley et
al.'s insecure-code samples mixed into their secure-code ones, audited by `dem audit`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dem.cli import main

pytestmark = pytest.mark.slow

BETLEY = (Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "betley").resolve()


@pytest.fixture
def code_mix(tmp_path: Path) -> Path:
    """20 secure + 20 insecure samples as a dem mix (its manifest knows which is which)."""
    if not (BETLEY / "insecure_small.jsonl").is_file():
        pytest.skip(f"real data folder {BETLEY} is absent")
    out = tmp_path / "code.jsonl"
    args = ["--downstream", str(BETLEY / "secure_small.jsonl")]
    args += ["--misaligned", str(BETLEY / "insecure_small.jsonl"), "--ratio", "1"]
    assert main(["data", "mix", *args, "--out", str(out)]) == 0
    return out


def test_contrastive_and_gradient_audit_real_code_on_smollm2(code_mix: Path, tmp_path: Path):
    import torch

    torch.set_num_threads(1)
    out = tmp_path / "report"
    args = ["audit", str(code_mix), "--model", "smollm2", "--out", str(out), "--budget", "0.5"]
    settings = ["--set", "batch_size=4", "--set", "probe_limit=16", "--set", "max_length=384"]
    assert main([*args, "--detector", "contrastive", "--detector", "gradient", *settings]) == 0
    report = json.loads((out / "audit.json").read_text())
    assert report["samples"] == 40 and report["misaligned"] == 20
    for name in ("contrastive", "gradient"):
        d = report["detectors"][name]
        assert d["flagged"] == 20 and d["errors"] == 0
        assert all(math.isfinite(d[k]) for k in ("auroc", "precision", "recall"))
        assert d["auroc_ci"][0] <= d["auroc"] <= d["auroc_ci"][1]
    assert report["detectors"]["contrastive"]["details"]["framing"]["kind"] == "system"
    assert report["detectors"]["gradient"]["details"]["probe"] == "dem:mask_pressure"
