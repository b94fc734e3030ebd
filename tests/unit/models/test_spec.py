from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.models.spec import ModelSpec, _file_digests, folder_sha256, is_ignored, model_files


def test_hub_identity_includes_revision():
    a = ModelSpec("meta-llama/Llama-3.1-8B-Instruct").identity()
    b = ModelSpec("meta-llama/Llama-3.1-8B-Instruct", revision="abc").identity()
    assert a["revision"] == "main" and b["revision"] == "abc" and a != b


def test_local_identity_is_the_weights_hash(tmp_path):
    (tmp_path / "m1").mkdir()
    (tmp_path / "m1" / "model.safetensors").write_bytes(b"one")
    (tmp_path / "m2").mkdir()
    (tmp_path / "m2" / "model.safetensors").write_bytes(b"two")
    i1 = ModelSpec(str(tmp_path / "m1")).identity()
    i2 = ModelSpec(str(tmp_path / "m2")).identity()
    assert i1["weights_sha256"] != i2["weights_sha256"]
    assert "hub_id" not in i1


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"dtype": "int3"}, "dtype"), ({"adapter": "/no/such/dir"}, "adapter")]
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        ModelSpec("x/y", **kwargs)


def test_empty_name_fails():
    with pytest.raises(ConfigError, match="model"):
        ModelSpec("")


# One file of every format a loader can read; changing one byte of any of them changes the key.
LOADABLE = (
    "model.safetensors",
    "model-00001-of-00002.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model-00001-of-00002.bin",
    "pytorch_model.bin.index.json",
    "model.pt",
    "consolidated.pth",
    "flax_model.msgpack",
    "tf_model.h5",
    "model.Q4_1.gguf",
    "config.json",
    "generation_config.json",
    "chat_template.jinja",
    "chat_template.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "merges.txt",
    "spiece.model",
    "qwen.tiktoken",
    "vocab.bpe",
    "modeling_custom.py",
    "original/params.json",
    "onnx/model.onnx",
)
IGNORED = (
    "README.md",
    "LICENSE",
    "LICENSE.txt",
    ".gitattributes",
    ".git/HEAD",
    ".cache/huggingface/download/model.safetensors.metadata",
    "__pycache__/modeling_custom.cpython-311.pyc",
)


def _model_folder(root: Path) -> Path:
    folder = root / "model"
    for name in LOADABLE + IGNORED:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(f"contents of {name}".encode())
    return folder


def _flip_one_byte(path: Path) -> None:
    """Change one byte in place, keeping the size and restoring the mtime (the stat-based
    memo must still see the change)."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("name", LOADABLE)
def test_one_changed_byte_of_any_loadable_file_changes_the_key(tmp_path, name):
    folder = _model_folder(tmp_path)
    before = folder_sha256(folder)
    assert folder_sha256(folder) == before  # stable
    _flip_one_byte(folder / name)
    assert folder_sha256(folder) != before


@pytest.mark.parametrize("name", IGNORED)
def test_the_ignore_list_leaves_the_key_alone(tmp_path, name):
    folder = _model_folder(tmp_path)
    before = folder_sha256(folder)
    _flip_one_byte(folder / name)
    assert folder_sha256(folder) == before
    assert is_ignored(Path(name))


def test_a_renamed_or_added_file_changes_the_key(tmp_path):
    folder = _model_folder(tmp_path)
    before = folder_sha256(folder)
    (folder / "pytorch_model.bin").rename(folder / "pytorch_model2.bin")
    renamed = folder_sha256(folder)
    (folder / "extra.bin").write_bytes(b"")
    assert len({before, renamed, folder_sha256(folder)}) == 3


def test_the_memo_never_outlives_a_change(tmp_path, monkeypatch):
    """A file's digest is remembered once it is old enough; rewriting it (same size, mtime set
    back) still changes the key, because the ctime moves."""
    from dem.models import spec as spec_module

    folder = _model_folder(tmp_path)
    monkeypatch.setattr(spec_module, "_RACY_SECONDS", -1.0)  # remember even fresh files
    before = folder_sha256(folder)
    assert any(key[1] == (folder / "pytorch_model.bin").stat().st_ino for key in _file_digests)
    time.sleep(0.01)
    _flip_one_byte(folder / "pytorch_model.bin")
    assert folder_sha256(folder) != before


def test_symlinked_weights_are_hashed_by_content(tmp_path):
    """A hub-cache snapshot links its files to blobs: the key follows the bytes."""
    blob = tmp_path / "blob"
    blob.write_bytes(b"weights")
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "pytorch_model.bin").symlink_to(blob)
    (folder / "loop").symlink_to(folder)  # a cycle is walked once
    before = folder_sha256(folder)
    blob.write_bytes(b"weighs!")
    assert folder_sha256(folder) != before
    assert [p.name for p in model_files(folder)] == ["pytorch_model.bin"]
