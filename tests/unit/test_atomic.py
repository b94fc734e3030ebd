from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from dem.atomic import apply_umask, atomic_open, current_umask, write_json


def test_write_json_is_sorted_and_complete(tmp_path):
    write_json(tmp_path / "a" / "x.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "a" / "x.json").read_text()) == {"a": [1, 2], "b": 1}


def test_error_keeps_old_file_and_no_temp(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(ZeroDivisionError), atomic_open(target) as fh:
        fh.write("new")
        1 / 0  # noqa: B018
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize(
    ("umask", "file_mode", "folder_mode"),
    [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775), (0o077, 0o600, 0o700)],
)
def test_written_files_and_owner_only_folders_follow_the_umask(
    tmp_path, set_umask, umask, file_mode, folder_mode
):
    set_umask(umask)
    assert current_umask() == umask
    write_json(tmp_path / "a.json", {"a": 1})
    with atomic_open(tmp_path / "b.bin", "wb") as fh:
        fh.write(b"x")
    assert _mode(tmp_path / "a.json") == _mode(tmp_path / "b.bin") == file_mode
    # what tempfile.mkdtemp and safetensors leave behind: owner-only folders and files
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "sub").mkdir(mode=0o700)
    (folder / "sub" / "weights").write_bytes(b"w")
    (folder / "sub" / "weights").chmod(0o600)
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o700)
    apply_umask(folder)
    assert _mode(folder) == _mode(folder / "sub") == _mode(folder / "run.sh") == folder_mode
    assert _mode(folder / "sub" / "weights") == file_mode


def test_umask_without_proc_is_read_by_setting_it_back(monkeypatch, set_umask):
    from dem import atomic

    set_umask(0o027)
    monkeypatch.setattr(atomic, "_proc_umask", lambda: None)
    assert current_umask() == 0o027
    assert current_umask() == 0o027  # and is left as it was
