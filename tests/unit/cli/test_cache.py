"""`dem cache prune`: what dead builds left goes, a build that may be live stays."""

from __future__ import annotations

import os
import time

from dem.cli import main
from dem.store import ArtifactStore


def test_prune_sweeps_dead_builds_by_age(tmp_path, capsys) -> None:
    store = ArtifactStore(tmp_path / "cache")
    tmp = store.base / ".tmp"
    old = tmp / f"{'a' * 64}.othernode-41.x1"  # another host's build, quiet for 3 hours
    fresh = tmp / f"{'b' * 64}.othernode-42.x2"  # another host's build, written just now
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "part").write_text("x")
    hours_ago = time.time() - 3 * 3600
    for path in (old, old / "part"):
        os.utime(path, (hours_ago, hours_ago))
    assert main(["cache", "prune", "--cache", str(tmp_path / "cache")]) == 0
    assert old.exists() and fresh.exists()  # both may be live under the default 24 h
    assert main(["cache", "prune", "--stale-after", "2h", "--cache", str(tmp_path / "cache")]) == 0
    assert not old.exists() and fresh.exists()
    assert f"removed .tmp/{old.name}\n1 leftover folders removed" in capsys.readouterr().out
    assert main(["cache", "prune", "--stale-after", "soon", "--cache", str(tmp_path)]) == 2
    assert "stale-after: 'soon' is not a duration" in capsys.readouterr().err
