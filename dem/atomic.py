"""Atomic file and folder writes: write beside the target, fsync, rename. Nothing is ever
half-written.

What lands in place has the mode a plain ``open()`` or ``mkdir()`` would give it (``0o666`` or
``0o777`` less the process umask), not the owner-only mode of a temporary file, so a cache
shared by a team or kept as a CI artifact stays readable to others.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask. Read from ``/proc/self/status`` on Linux, which leaves it untouched;
    elsewhere set and restored under a lock (other threads creating files meanwhile may race)."""
    found = _proc_umask()
    if found is not None:
        return found
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _proc_umask() -> int | None:
    """The umask Linux (4.7 and later) reports in ``/proc/self/status``; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass  # /proc not mounted (some containers)
    return None


def apply_umask(path: str | Path) -> None:
    """Give `path`, and for a folder everything under it, the mode a plain ``open()`` or
    ``mkdir()`` would have given it (files keep an owner execute bit as ``0o777 & ~umask``).

    For folders filled by writers that leave owner-only files behind: `tempfile.mkdtemp`
    (``0o700``) and safetensors (0.8 writes ``0o600``). Symbolic links are left alone."""
    path = Path(path)
    umask = current_umask()
    for item in (path, *path.rglob("*")) if path.is_dir() else (path,):
        if item.is_symlink():
            continue
        executable = item.is_dir() or item.stat().st_mode & stat.S_IXUSR
        os.chmod(item, (0o777 if executable else 0o666) & ~umask)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temp file beside `path`; on clean exit it replaces `path` (with the umask's file
    mode), on error it is gone."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        apply_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_folder(path: str | Path, *, replace_existing: bool = False) -> Iterator[Path]:
    """A temporary folder beside `path` to fill; on clean exit it becomes `path` (with the
    umask's modes), replacing an empty folder there (any folder with `replace_existing`); on
    error it is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        apply_umask(tmp)
        if path.exists():
            shutil.rmtree(path) if replace_existing else path.rmdir()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON, atomically."""
    with atomic_open(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
