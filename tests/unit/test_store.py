"""The artifact store: keys, atomic builds, per-key locking across processes, crash safety."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dem.errors import ConfigError, DemError
from dem.models.spec import ModelSpec
from dem.store import MARKER, ArtifactStore, library_versions

PARTS = {"model": {"hub_id": "org/m", "revision": "abc"}, "data_sha256": "d" * 64, "seed": 0}


def _count_builds(root: Path) -> int:
    log = root / "builds.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _build_slowly(root: str, seconds: float):
    """A build that records itself (one line per build, O_APPEND) and takes a while."""

    def build(folder: Path) -> dict:
        with open(Path(root) / "builds.log", "a") as fh:
            fh.write(f"{os.getpid()}\n")
        (folder / "payload.txt").write_text("made once")
        time.sleep(seconds)
        return {"pid": os.getpid()}

    return build


def _worker(root: str, barrier, results) -> None:
    store = ArtifactStore(Path(root) / "cache")
    barrier.wait()
    art = store.get_or_build("demo", PARTS, _build_slowly(root, 1.0))
    results.put((art.key, art.reused, (art.path / "payload.txt").read_text()))


def _dying_worker(root: str, how: str) -> None:
    store = ArtifactStore(Path(root) / "cache")

    def build(folder: Path) -> None:
        (folder / "payload.txt").write_text("half")
        (Path(root) / "started").write_text("1")
        if how == "exit":
            os._exit(3)
        time.sleep(60)  # killed from outside

    store.get_or_build("demo", PARTS, build)


def test_build_once_then_reuse(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    first = store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0), describe="demo x")
    second = store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0))
    assert (first.reused, second.reused) == (False, True)
    assert first.path == second.path and first.key == second.key
    assert _count_builds(tmp_path) == 1
    meta = second.meta
    assert meta["kind"] == "demo" and meta["describe"] == "demo x"
    assert meta["parts"] == PARTS and meta["result"] == {"pid": os.getpid()}
    assert meta["size_bytes"] == len("made once") and meta["files"] == ["payload.txt"]
    assert meta["build_seconds"] >= 0 and meta["built_at"] <= time.time()
    assert store.get("demo", PARTS) == second


def test_key_covers_kind_parts_and_versions(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    base = store.key("demo", PARTS)
    assert len(base) == 64 and base == store.key("demo", dict(reversed(PARTS.items())))
    assert store.key("other", PARTS) != base
    for name, value in [("seed", 1), ("data_sha256", "e" * 64), ("extra", None)]:
        assert store.key("demo", {**PARTS, name: value}) != base, name
    nested = {**PARTS, "model": {"hub_id": "org/m", "revision": "def"}}
    assert store.key("demo", nested) != base
    assert set(library_versions()) == {"torch", "transformers", "peft", "trl", "dem"}


def test_key_differs_with_model_identity(tmp_path: Path) -> None:
    """Two local models that differ only in their weights never share a key."""
    folders = []
    for i in range(2):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        (folder / "config.json").write_text('{"model_type": "llama"}')
        (folder / "model.safetensors").write_bytes(bytes([i]) * 16)
        folders.append(folder)
    store = ArtifactStore(tmp_path / "cache")
    keys = {store.key("adapter", {"model": ModelSpec(str(f)).identity()}) for f in folders}
    hub = {store.key("adapter", {"model": ModelSpec(f"org/m{i}").identity()}) for i in range(2)}
    assert len(keys) == 2 and len(hub) == 2


def test_unhashable_parts_and_bad_kind_are_config_errors(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(ConfigError) as err:
        store.key("demo", {"x": object()})
    assert err.value.field == "parts"
    with pytest.raises(ConfigError):
        store.key("../escape", PARTS)


def test_root_from_env_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEM_CACHE", str(tmp_path / "env"))
    assert ArtifactStore().root == (tmp_path / "env").resolve()
    assert ArtifactStore(tmp_path / "arg").root == (tmp_path / "arg").resolve()
    monkeypatch.delenv("DEM_CACHE")
    assert ArtifactStore().root.name == "dem"


def test_two_processes_build_once(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert _count_builds(tmp_path) == 1
    assert len({key for key, _, _ in outcomes}) == 1
    assert sorted(reused for _, reused, _ in outcomes) == [False, True]
    assert all(payload == "made once" for _, _, payload in outcomes)


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_killed_build_leaves_nothing_used(tmp_path: Path, how: str) -> None:
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_dying_worker, args=(str(tmp_path), how))
    proc.start()
    deadline = time.time() + 60
    while not (tmp_path / "started").exists() and time.time() < deadline:
        time.sleep(0.05)
    if how == "sigkill":
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode != 0

    store = ArtifactStore(tmp_path / "cache")
    assert store.get("demo", PARTS) is None and store.ls() == []
    art = store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0))
    assert not art.reused and (art.path / "payload.txt").read_text() == "made once"
    # the dead build's temporary folder is swept by prune, the new artifact is kept
    assert store.prune(3600) == []
    assert not any((store.base / ".tmp").iterdir())
    assert store.get("demo", PARTS) is not None


def test_markerless_folder_is_rebuilt(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    stale = store.path_for("demo", store.key("demo", PARTS))
    stale.mkdir(parents=True)
    (stale / "payload.txt").write_text("stale, no marker")
    assert store.get("demo", PARTS) is None and store.ls() == []
    art = store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0))
    assert not art.reused and (art.path / "payload.txt").read_text() == "made once"
    assert (art.path / MARKER).is_file()


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")

    def broken(folder: Path) -> None:
        (folder / "partial").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.get_or_build("demo", PARTS, broken)
    assert store.get("demo", PARTS) is None
    assert not any((store.base / ".tmp").iterdir())


def test_marker_name_is_reserved(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    with pytest.raises(DemError, match="reserved"):
        store.get_or_build("demo", PARTS, lambda folder: (folder / MARKER).write_text("{}"))
    assert store.get("demo", PARTS) is None


def test_ls_rm_prune(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    a = store.get_or_build("demo", {"i": 1}, lambda f: (f / "x").write_text("a") and None)
    b = store.get_or_build("other", {"i": 2}, lambda f: (f / "x").write_text("bb") and None)
    assert [x.key for x in store.ls()] == [a.key, b.key]
    with pytest.raises(ConfigError):
        store.rm("ab")  # too short to be a deliberate prefix
    assert store.rm(a.key[:8]) == [a.key]
    assert not a.path.exists() and [x.key for x in store.ls()] == [b.key]
    assert store.prune(3600) == []
    assert store.prune(0) == [b.key] and store.ls() == []


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)]
)
def test_artifact_files_and_folders_follow_the_umask(
    tmp_path: Path, set_umask, umask: int, file_mode: int, folder_mode: int
) -> None:
    from dem.atomic import write_json

    set_umask(umask)

    def build(folder: Path) -> None:
        (folder / "plain.txt").write_text("x")
        write_json(folder / "atomic.json", {"a": 1})
        (folder / "sub").mkdir()
        write_json(folder / "sub" / "nested.json", {"b": 2})

    art = ArtifactStore(tmp_path / "cache").get_or_build("demo", PARTS, build)
    files = sorted(p for p in art.path.rglob("*") if p.is_file())
    assert [p.name for p in files] == ["atomic.json", MARKER, "plain.txt", "nested.json"]
    folders = [art.path, art.path / "sub", art.path.parent, tmp_path / "cache"]
    assert {str(p): p.stat().st_mode & 0o777 for p in files + folders} == {
        **{str(p): file_mode for p in files},
        **{str(p): folder_mode for p in folders},
    }


def _hold_lock(root: str, key: str, ready, release) -> None:
    from filelock import FileLock

    with FileLock(str(Path(root) / "cache" / "artifacts" / ".locks" / f"{key}.lock")):
        ready.set()
        release.wait(30)


@contextmanager
def _held_by_another_process(root: Path, key: str) -> Iterator[None]:
    """Another process holds the store's lock of `key` for the block (as a builder would)."""
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(root), key, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


def test_a_key_another_process_builds_is_skipped_without_waiting(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "cache")
    key = store.key("demo", PARTS)
    (store.base / ".locks").mkdir(parents=True)
    with _held_by_another_process(tmp_path, key):
        start = time.time()
        assert (
            store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0), wait=False) is None
        )
        assert time.time() - start < 5 and _count_builds(tmp_path) == 0
    art = store.get_or_build("demo", PARTS, _build_slowly(str(tmp_path), 0), wait=False)
    assert art is not None and not art.reused


def test_losing_the_rename_race_reuses_the_winner(tmp_path: Path) -> None:
    """Two nodes whose locks do not see each other both build; the first rename commits and
    the second build is discarded in favour of the winner's artifact."""
    store, other = ArtifactStore(tmp_path / "cache"), ArtifactStore(tmp_path / "cache")

    def build_while_other_commits(folder: Path) -> dict:
        (folder / "payload.txt").write_text("loser")
        # the other node finishes first (its lock is a no-op here: a lock-less file system)
        other._build("demo", other.key("demo", PARTS), PARTS, _build_slowly(str(tmp_path), 0), "")
        return {}

    art = store._build("demo", store.key("demo", PARTS), PARTS, build_while_other_commits, "")
    assert art.reused and (art.path / "payload.txt").read_text() == "made once"
    assert (art.path / MARKER).is_file() and not any((store.base / ".tmp").iterdir())


def test_sweep_deletes_only_what_cannot_be_live(tmp_path: Path) -> None:
    from dem.store import _host

    store = ArtifactStore(tmp_path / "cache")
    tmp = store.base / ".tmp"
    dead_pid = _dead_pid()
    folders = {
        "dead_here": tmp / f"{'a' * 64}.{_host()}-{dead_pid}.x1",
        "live_here": tmp / f"{'b' * 64}.{_host()}-{os.getpid()}.x2",
        "fresh_elsewhere": tmp / f"{'c' * 64}.otherhost-123.x3",
        "stale_elsewhere": tmp / f"{'d' * 64}.otherhost-456.x4",
        "markerless": store.base / "demo" / ("e" * 64),
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "part").write_text("x")
    old = time.time() - 3 * 24 * 3600
    for path in (folders["stale_elsewhere"], folders["stale_elsewhere"] / "part"):
        os.utime(path, (old, old))
    os.utime(folders["live_here"] / "part", (old, old))  # old but its process runs: kept
    gone = {p.name for p in store.sweep()}
    assert gone == {folders[k].name for k in ("dead_here", "stale_elsewhere", "markerless")}
    assert folders["live_here"].exists() and folders["fresh_elsewhere"].exists()


def _dead_pid() -> int:
    proc = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    proc.start()
    proc.join()
    return proc.pid


def test_store_id_is_created_once(tmp_path: Path) -> None:
    first = ArtifactStore(tmp_path / "cache").store_id()
    assert ArtifactStore(tmp_path / "cache").store_id() == first and len(first) == 32


def test_build_together_claims_reuses_skips_and_gives_up(tmp_path: Path) -> None:
    """One piece of work builds every claimed request; a stored one is reused; one whose
    summary is an exception is given up (raised, or handed to on_error while the rest commit);
    a request another process builds is left to it."""
    from dem.store import BuildRequest

    store = ArtifactStore(tmp_path / "cache")
    done = store.get_or_build("demo", {"n": 0}, lambda f: {"v": 0})
    requests = [BuildRequest("demo", {"n": n}, f"demo {n}") for n in range(4)]
    calls: list[list[int]] = []

    def work(folders: dict[int, Path]) -> dict[int, object]:
        calls.append(sorted(folders))
        for i, folder in folders.items():
            (folder / "x.txt").write_text(str(i))
        return {i: ValueError("no 2") if i == 2 else {"v": i} for i in folders}

    with pytest.raises(ValueError, match="no 2"):
        store.build_together(requests, work)
    assert calls == [[1, 2, 3]] and store.get("demo", {"n": 3}) is None  # all given up

    failed: list[int] = []
    arts = store.build_together(requests, work, on_error=lambda i, exc: failed.append(i))
    assert calls[-1] == [1, 2, 3] and failed == [2]
    assert arts[0] is not None and arts[0].reused and arts[0].key == done.key
    assert [a is not None and not a.reused for a in arts[1:]] == [True, False, True]
    assert (arts[3].path / "x.txt").read_text() == "3" and arts[3].meta["result"] == {"v": 3}

    key, n_calls = store.key("demo", {"n": 2}), len(calls)
    with _held_by_another_process(tmp_path, key):
        arts = store.build_together(requests, work)
    assert arts[2] is None and len(calls) == n_calls  # left to its builder; nothing to do here
    assert arts[1] is not None and arts[1].reused and arts[3] is not None and arts[3].reused
