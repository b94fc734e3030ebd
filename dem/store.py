"""A content-addressed artifact store shared by every expensive stage.

An artifact is a folder ``ROOT/artifacts/<kind>/<key>/`` whose key is the sha256 of everything
that determines it: the caller's ``parts`` (content hashes of data and models, configs, seeds),
the versions of torch, transformers, peft and trl, and a fingerprint of the dem code the build
runs (`dem.codehash`). A build runs in a temporary folder inside the root and writes its
completion marker ``meta.json`` there; renaming the finished folder into place is the one
commit, so the store also works on a shared file system where several nodes build at once: a
build that loses the rename race discards its folder and reuses the winner's. A file lock per
key only saves duplicate work (``flock`` is not reliable on every network file system).
Temporary folders of dead builds are swept: at once when their process is gone from this host,
else by age (`STALE_AFTER`), never while they may still be live.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, overload

from dem.atomic import write_json
from dem.codehash import code_fingerprint, scope_of
from dem.errors import ConfigError, DemError

MARKER = "meta.json"
STORE_ID = "store.json"
VERSIONED_PACKAGES = ("torch", "transformers", "peft", "trl", "dem")
STALE_AFTER = 24 * 3600.0  # seconds without a write after which another host's build is dead
_TMP = ".tmp"
_LOCKS = ".locks"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that change artifacts (read without importing them)."""
    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def _plain(obj: Any) -> Any:
    """Turn paths, dataclasses, tuples and sets into JSON values; anything else must be JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, set | frozenset):
        return sorted(_plain(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise ConfigError("parts", f"cannot hash a value of type {type(obj).__name__}: {obj!r}")


def _canonical(obj: Any) -> str:
    return json.dumps(_plain(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@dataclass(frozen=True)
class Artifact:
    """A complete artifact: its key, kind, folder, marker contents, and whether it was reused."""

    key: str
    kind: str
    path: Path
    meta: dict
    reused: bool

    @property
    def short_key(self) -> str:
        return self.key[:12]


@dataclass(frozen=True)
class BuildRequest:
    """One artifact of a `ArtifactStore.build_together`: its kind, key parts and description."""

    kind: str
    parts: Mapping[str, Any]
    describe: str = ""


class ArtifactStore:
    """Artifacts under `root` (argument, else ``$DEM_CACHE``, else the user cache directory)."""

    def __init__(self, root: str | Path | None = None) -> None:
        if root is None:
            root = os.environ.get("DEM_CACHE") or None
        if root is None:
            import platformdirs

            root = platformdirs.user_cache_dir("dem")
        self.root = Path(root).expanduser().resolve()
        self.base = self.root / "artifacts"  # the root is shared with other cached things
        self._swept = False

    def __repr__(self) -> str:
        return f"ArtifactStore({str(self.root)!r})"

    # -- identity ------------------------------------------------------------------------
    @overload
    def store_id(self) -> str: ...

    @overload
    def store_id(self, *, create: bool) -> str | None: ...

    def store_id(self, *, create: bool = True) -> str | None:
        """This store's id (created once, in ``ROOT/store.json``): a distributed task checks it
        to prove it sees the same store as the driver. With ``create=False``, None when the
        store has no id (a task must never make one: it would not be the driver's store)."""
        path = self.root / STORE_ID
        if not create:
            try:
                return json.loads(path.read_text(encoding="utf-8"))["id"]
            except (OSError, ValueError, KeyError, TypeError):
                return None
        if not path.is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{STORE_ID}.{uuid.uuid4().hex}"
            write_json(tmp, {"id": uuid.uuid4().hex, "created_at": time.time()})
            try:
                os.link(tmp, path)  # atomic and never overwrites: the first creator wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
        return json.loads(path.read_text(encoding="utf-8"))["id"]

    # -- keys and paths -------------------------------------------------------------------
    def key_payload(self, kind: str, parts: Mapping[str, Any]) -> dict[str, Any]:
        """Everything a key is the hash of: kind, parts, library versions, dem code."""
        _check_kind(kind)
        scope = scope_of(kind)
        return {
            "kind": kind,
            "parts": parts,
            "versions": library_versions(),
            "code": {"modules": list(scope), "sha256": code_fingerprint(scope)},
        }

    def key(self, kind: str, parts: Mapping[str, Any]) -> str:
        """sha256 of the canonical JSON of `key_payload`."""
        payload = self.key_payload(kind, parts)
        return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()

    def path_for(self, kind: str, key: str) -> Path:
        return self.base / kind / key

    def _lock(self, key: str):
        from filelock import FileLock

        locks = self.base / _LOCKS
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{key}.lock"))

    # -- reading --------------------------------------------------------------------------
    def _load(self, folder: Path, *, reused: bool) -> Artifact | None:
        marker = folder / MARKER
        if not marker.is_file():
            return None
        try:
            meta = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON: not complete
            return None
        return Artifact(folder.name, folder.parent.name, folder, meta, reused)

    def get(self, kind: str, parts: Mapping[str, Any]) -> Artifact | None:
        """The complete artifact for these parts, or None (markerless folders do not count)."""
        return self._load(self.path_for(kind, self.key(kind, parts)), reused=True)

    @overload
    def get_or_build(
        self,
        kind: str,
        parts: Mapping[str, Any],
        build: Callable[[Path], Mapping[str, Any] | None],
        *,
        describe: str = "",
        wait: Literal[True] = True,
    ) -> Artifact: ...

    @overload
    def get_or_build(
        self,
        kind: str,
        parts: Mapping[str, Any],
        build: Callable[[Path], Mapping[str, Any] | None],
        *,
        describe: str = "",
        wait: bool,
    ) -> Artifact | None: ...

    def get_or_build(
        self,
        kind: str,
        parts: Mapping[str, Any],
        build: Callable[[Path], Mapping[str, Any] | None],
        *,
        describe: str = "",
        wait: bool = True,
    ) -> Artifact | None:
        """Return the complete artifact, building it once when missing.

        `build(folder)` writes the artifact's files into an empty temporary folder and may return
        a JSON-able summary, stored in the marker as ``result``. The name ``meta.json`` is
        reserved for the marker. With ``wait=False``, a key another process is building right
        now returns None at once instead of waiting for it.
        """
        key = self.key(kind, parts)
        final = self.path_for(kind, key)
        found = self._load(final, reused=True)
        if found is not None:
            return found
        from filelock import Timeout

        self._sweep_once()
        try:
            with self._lock(key).acquire(timeout=-1 if wait else 0):
                found = self._load(final, reused=True)
                if found is not None:
                    return found
                return self._build(kind, key, parts, build, describe)
        except Timeout:
            return None

    def build_together(
        self,
        requests: Sequence[BuildRequest],
        work: Callable[[dict[int, Path]], Mapping[int, Mapping[str, Any] | BaseException]],
        *,
        on_error: Callable[[int, Exception], None] | None = None,
    ) -> list[Artifact | None]:
        """Build several artifacts in one piece of work: claim each request no other process
        is building (its lock held until it is committed or given up), call `work` once with
        the claimed folders (request index -> empty folder), and commit each with the summary
        `work` gives it. Stored artifacts are reused; one another process is building is left
        to it (None). When `work` gives any request an exception instead of a summary, every
        claim is given up and the exception raised; with `on_error`, only that request is
        given up, its exception handed to `on_error`, and the others commit."""
        arts: list[Artifact | None] = [None] * len(requests)
        folders: dict[int, Path] = {}
        results: dict[int, Mapping[str, Any] | BaseException] = {}

        def claim(i: int) -> None:  # each claim is held while the later ones are made
            if i == len(requests):
                if folders:
                    results.update(work(dict(folders)))
                return
            called = False

            def build(folder: Path) -> Mapping[str, Any]:
                nonlocal called
                called = True
                folders[i] = folder
                claim(i + 1)
                got = results.get(i)
                if on_error is None:  # all or nothing: the first failure gives up every claim
                    got = next((r for r in results.values() if isinstance(r, BaseException)), got)
                if isinstance(got, BaseException):
                    raise got
                if got is None:
                    raise DemError(f"{requests[i].describe}: the shared build gave no result")
                return got

            req = requests[i]
            try:
                arts[i] = self.get_or_build(
                    req.kind, req.parts, build, describe=req.describe, wait=False
                )
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(i, exc)
            if not called:
                claim(i + 1)

        claim(0)
        return arts

    def _build(
        self,
        kind: str,
        key: str,
        parts: Mapping[str, Any],
        build: Callable[[Path], Mapping[str, Any] | None],
        describe: str,
    ) -> Artifact:
        final = self.path_for(kind, key)
        if final.exists() and not (final / MARKER).exists():  # left by an older dem
            self._discard(final)
        tmp_root = self.base / _TMP
        tmp_root.mkdir(parents=True, exist_ok=True)
        tmp = tmp_root / f"{key}.{_owner()}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        start = time.time()
        try:
            result = build(tmp)
            if (tmp / MARKER).exists():
                raise DemError(f"build of {kind} {key[:12]} wrote {MARKER}, a reserved name")
            result = _plain(dict(result or {}))
            payload = self.key_payload(kind, parts)
            meta = {
                "key": key,
                "kind": kind,
                "describe": describe,
                "parts": _plain(parts),
                "versions": payload["versions"],
                "code": payload["code"],
                "host": socket.gethostname(),
                "built_at": time.time(),
                "build_seconds": round(time.time() - start, 3),
                "result": result,
                "size_bytes": _folder_size(tmp),
                "files": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
            }
            write_json(tmp / MARKER, meta)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, final)  # the commit; fails when a winner is already in place
            except OSError:
                winner = self._load(final, reused=True)
                if winner is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
                return winner
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Artifact(key, kind, final, json.loads(json.dumps(meta)), reused=False)

    def ls(self) -> list[Artifact]:
        """Every complete artifact, oldest first."""
        if not self.base.is_dir():
            return []
        found = []
        for kind_dir in sorted(self.base.iterdir()):
            if not kind_dir.is_dir() or kind_dir.name.startswith("."):
                continue
            for folder in sorted(kind_dir.iterdir()):
                art = self._load(folder, reused=True) if folder.is_dir() else None
                if art is not None:
                    found.append(art)
        return sorted(found, key=lambda a: a.meta.get("built_at", 0.0))

    def find(self, key_prefix: str) -> list[Artifact]:
        """The artifacts whose key starts with `key_prefix` (at least 4 hex digits)."""
        prefix = key_prefix.strip().lower()
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise ConfigError("key", f"{key_prefix!r} is not a key prefix of at least 4 hex digits")
        return [art for art in self.ls() if art.key.startswith(prefix)]

    # -- removal --------------------------------------------------------------------------
    def _discard(self, folder: Path) -> None:
        """Move a folder out of sight (atomic), then delete it."""
        trash = self.base / _TMP / f"trash.{folder.name}.{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _remove(self, art: Artifact) -> None:
        with self._lock(art.key):
            if art.path.exists():
                self._discard(art.path)

    def rm(self, key_prefix: str) -> list[str]:
        """Remove the artifacts whose key starts with `key_prefix` (at least 4 hex digits)."""
        removed = []
        for art in self.find(key_prefix):
            self._remove(art)
            removed.append(art.key)
        return removed

    def prune(self, older_than_seconds: float, *, stale_after: float = STALE_AFTER) -> list[str]:
        """Remove artifacts built more than `older_than_seconds` ago, and sweep the leftovers of
        dead builds (`sweep`). Returns the removed artifact keys."""
        if older_than_seconds < 0:
            raise ConfigError("older_than", "must be >= 0 seconds")
        cutoff = time.time() - older_than_seconds
        removed = []
        for art in self.ls():
            if art.meta.get("built_at", 0.0) < cutoff:
                self._remove(art)
                removed.append(art.key)
        self.sweep(stale_after=stale_after)
        return removed

    def _sweep_once(self) -> None:
        if not self._swept:
            self._swept = True
            self.sweep()

    def sweep(self, *, stale_after: float = STALE_AFTER) -> list[Path]:
        """Delete what dead builds left: temporary folders of a process gone from this host,
        temporary folders of another host untouched for `stale_after` seconds, and artifact
        folders without a marker (an older dem's half-commits). A folder whose build may
        still be running is never touched. Returns the deleted folders."""
        if not self.base.is_dir():
            return []
        now = time.time()
        doomed = []
        tmp_root = self.base / _TMP
        if tmp_root.is_dir():
            for folder in tmp_root.iterdir():
                alive = _owner_alive(folder.name)
                stale = alive is None and now - _last_write(folder) > stale_after
                if folder.name.startswith("trash.") or alive is False or stale:
                    doomed.append(folder)
        for kind_dir in self.base.iterdir():
            if kind_dir.is_dir() and not kind_dir.name.startswith("."):
                doomed += [
                    p for p in kind_dir.iterdir() if p.is_dir() and not (p / MARKER).exists()
                ]
        for folder in doomed:
            shutil.rmtree(folder, ignore_errors=True)
        return doomed


def _owner() -> str:
    """``host-pid`` of this process, as written into a temporary build folder's name."""
    return f"{_host()}-{os.getpid()}"


def _host() -> str:
    return socket.gethostname().replace(".", "_").replace("-", "_")


def _owner_alive(name: str) -> bool | None:
    """Whether the build that owns the temporary folder `name` (``key.host-pid.rand``) still
    runs: True or False when it ran on this host, None when that cannot be known here."""
    parts = name.split(".")
    host, _, pid = parts[1].rpartition("-") if len(parts) == 3 else ("", "", "")
    if host != _host() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _last_write(folder: Path) -> float:
    """The newest modification time of the folder or anything inside it."""
    times = [folder.stat().st_mtime]
    for path in folder.rglob("*"):
        try:
            times.append(path.lstat().st_mtime)
        except OSError:
            continue
    return max(times)


def _check_kind(kind: str) -> None:
    if not kind or not kind.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("kind", f"{kind!r} must be a non-empty name of letters, digits, - and _")
