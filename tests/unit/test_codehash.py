"""dem.codehash: cache keys follow what dem's code does, not its version string."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import dem.codehash as codehash
from dem.store import ArtifactStore


@pytest.fixture
def dem_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of dem's sources that the fingerprint reads instead of the installed ones."""
    root = tmp_path / "dem"
    shutil.copytree(codehash.DEM_ROOT, root, ignore=shutil.ignore_patterns("*.pyc", "checkpoint"))
    monkeypatch.setattr(codehash, "DEM_ROOT", root)
    codehash._fingerprint.cache_clear()
    codehash._normalized.cache_clear()
    yield root
    codehash._fingerprint.cache_clear()
    codehash._normalized.cache_clear()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    codehash._fingerprint.cache_clear()
    codehash._normalized.cache_clear()


def test_comments_docstrings_and_layout_keep_the_fingerprint(dem_copy: Path) -> None:
    before = codehash.code_fingerprint(["dem.data"])
    mix = dem_copy / "data" / "mix.py"
    _edit(mix, '"""', '"""A reworded module docstring. ')
    _edit(mix, "\nfrom __future__", "\n# a new comment\n\n\nfrom __future__")
    assert codehash.code_fingerprint(["dem.data"]) == before


def test_a_change_to_generator_code_is_a_new_dataset_key(dem_copy: Path, tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    parts = {"recipe": {"kind": "domain", "domain": "math"}, "seed": 0}
    before = {kind: store.key(kind, parts) for kind in ("dataset", "adapter", "condition")}
    _edit(
        dem_copy / "data" / "domains" / "math.py",
        "def ",
        "def _unused_helper():\n    return 1\n\n\ndef ",
    )
    after = {kind: store.key(kind, parts) for kind in ("dataset", "adapter", "condition")}
    assert after["dataset"] != before["dataset"]  # datasets come from the generators
    assert after["condition"] != before["condition"]  # results depend on all result code
    assert after["adapter"] == before["adapter"]  # training code did not change


def test_a_change_to_scoring_code_rescores_without_retraining(
    dem_copy: Path, tmp_path: Path
) -> None:
    store = ArtifactStore(tmp_path / "cache")
    before = {kind: store.key(kind, {}) for kind in ("dataset", "adapter", "condition")}
    _edit(
        dem_copy / "evals" / "mask_metrics.py",
        "def ",
        "def _unused_helper():\n    return 2\n\n\ndef ",
    )
    after = {kind: store.key(kind, {}) for kind in ("dataset", "adapter", "condition")}
    assert after["condition"] != before["condition"]
    assert after["adapter"] == before["adapter"] and after["dataset"] == before["dataset"]


def test_the_marker_records_what_a_key_covers(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    art = store.get_or_build("adapter", {"x": 1}, lambda folder: None)
    assert art.meta["code"]["modules"] == list(codehash.scope_of("adapter"))
    assert art.meta["code"]["sha256"] == codehash.code_fingerprint(codehash.scope_of("adapter"))
    assert set(art.meta["versions"]) == {"torch", "transformers", "peft", "trl", "dem"}
