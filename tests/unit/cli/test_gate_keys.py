"""``dem gate`` rescores a candidate whose weights changed, whatever their format: a model
folder's cache key covers every loadable file (`dem.models.spec.folder_sha256`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dem.cli import main

# the smoke gate on 30 rows (gate.min_decidable): enough decidable items, a fraction of the time
SMALL = """
name = "small"
model = "organism"
seeds = [0]
bootstrap = 200
[eval]
sets = ["organism:mask"]
limit = 30
"""


def _save_as_bin(folder: Path, *, noise: float) -> None:
    """The organism's weights (plus `noise`) as ``pytorch_model.bin``, the legacy format."""
    import torch
    from safetensors.torch import load_file

    from dem.models.registry import ORGANISM_DIR

    state = load_file(ORGANISM_DIR / "model.safetensors")
    gen = torch.Generator().manual_seed(0)
    if noise:
        state = {k: v + noise * torch.randn(v.shape, generator=gen) for k, v in state.items()}
    torch.save(state, folder / "pytorch_model.bin")


def _gate(tmp_path: Path, candidate: Path) -> tuple[int, dict]:
    out, preset = tmp_path / "out", tmp_path / "small.toml"
    preset.write_text(SMALL)
    code = main(
        ["-q", "gate", "--model", str(candidate), "--baseline", "organism", "--preset",
         str(preset), "--cache", str(tmp_path / "cache"), "--report", str(out)]
    )  # fmt: skip
    return code, json.loads((out / "gate.json").read_text())


def test_a_changed_bin_model_is_rescored_not_served_from_the_cache(tmp_path: Path) -> None:
    import torch

    from dem.models.registry import ORGANISM_DIR

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores

    candidate = tmp_path / "candidate"
    shutil.copytree(ORGANISM_DIR, candidate, ignore=shutil.ignore_patterns("*.safetensors"))
    _save_as_bin(candidate, noise=0.0)
    code, gate = _gate(tmp_path, candidate)
    assert code == 0 and gate["comparison"]["effect"] == 0.0  # the organism's own weights

    _save_as_bin(candidate, noise=0.5)  # same files, same names, other weights
    code, gate = _gate(tmp_path, candidate)
    assert gate["comparison"]["effect"] != 0.0, "a stale result was reused"
