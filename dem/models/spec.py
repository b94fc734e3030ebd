"""`ModelSpec`: which model to load and how, plus the identity that keys cached artifacts."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from dem.errors import ConfigError

Dtype = Literal["auto", "float32", "bfloat16", "float16"]
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class ModelSpec:
    """A base model (hub id or local folder), optionally with a LoRA adapter on top.

    ``dtype="auto"`` means bfloat16 on a CUDA GPU and float32 on the CPU; ``device="auto"`` means
    the first CUDA GPU when there is one, else the CPU.
    """

    name_or_path: str
    revision: str | None = None
    adapter: str | None = None
    dtype: Dtype = "auto"
    device: str = "auto"
    chat_template: str | None = None
    gguf_file: str | None = None
    trust_remote_code: bool = False
    label: str | None = None

    def __post_init__(self) -> None:
        if not self.name_or_path:
            raise ConfigError("model", "must name a hub id or a local folder")
        if self.dtype not in _DTYPES:
            raise ConfigError("dtype", f"{self.dtype!r} is not one of {_DTYPES}")
        if self.adapter is not None and not Path(self.adapter).is_dir():
            raise ConfigError("adapter", f"{self.adapter} is not a folder")

    @property
    def is_local(self) -> bool:
        return Path(self.name_or_path).is_dir()

    @property
    def display_name(self) -> str:
        name = self.label or self.name_or_path
        return f"{name}+{Path(self.adapter).name}" if self.adapter else name

    def with_adapter(self, adapter: str | Path | None) -> ModelSpec:
        return replace(self, adapter=None if adapter is None else str(adapter))

    def identity(self) -> dict[str, Any]:
        """What determines this model's outputs, for cache keys.

        A hub model is its id and revision; a local folder is the sha256 of every file a loader
        can read (`folder_sha256`), so two folders with equal paths but different weights,
        tokenizers or configs never collide.
        """
        ident: dict[str, Any] = {"dtype": self.dtype, "chat_template": self.chat_template}
        if self.is_local:
            ident["weights_sha256"] = folder_sha256(Path(self.name_or_path))
        else:
            ident["hub_id"] = self.name_or_path
            ident["revision"] = self.revision or "main"
        if self.adapter:
            ident["adapter_sha256"] = folder_sha256(Path(self.adapter))
        return ident

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What a model folder's key leaves out, and why (docs/architecture.md, "Cache keys"): nothing
# here is read by transformers, PEFT, vLLM or GGUF loading. Everything else is hashed, whatever
# its name: weights of any format and shard, indexes, tokenizer, config, templates, remote code.
IGNORED_DIRS = frozenset({".git", ".hg", ".svn", ".cache", "__pycache__"})
"""Version-control internals, huggingface_hub's download metadata (``.cache/huggingface``) and
Python's bytecode cache (the ``.py`` sources it is compiled from are hashed)."""
IGNORED_NAMES = frozenset({".gitattributes", ".gitignore", ".DS_Store"})
"""Version-control settings and Finder metadata."""
IGNORED_SUFFIXES = frozenset({".md", ".lock"})
"""The model card (``README.md``) and other Markdown docs; huggingface_hub's download locks."""
IGNORED_PREFIXES = ("LICENSE", "LICENCE", "NOTICE")
"""Licence texts (``LICENSE``, ``LICENSE.txt``, ``NOTICE``, any case)."""

# Racy-git rule: a file changed this recently may change again within its timestamp's
# granularity without a visible stat change, so its digest is not remembered.
_RACY_SECONDS = 2.0
_file_digests: dict[tuple[int, int, int, int, int], bytes] = {}


def is_ignored(relative: Path) -> bool:
    """Whether `relative` (a path inside a model folder) is left out of the folder's key."""
    if any(part in IGNORED_DIRS for part in relative.parts[:-1]):
        return True
    name = relative.name
    return (
        name in IGNORED_NAMES
        or relative.suffix.lower() in IGNORED_SUFFIXES
        or name.upper().startswith(IGNORED_PREFIXES)
    )


def model_files(folder: Path) -> list[Path]:
    """Every file of `folder` (recursively, symlinks followed) that enters its key, sorted."""
    found: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a symlink loop
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
        for name in files:
            path = Path(root) / name
            if path.is_file() and not is_ignored(path.relative_to(folder)):
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def folder_sha256(folder: Path) -> str:
    """sha256 over the relative name and the bytes of every file in a model folder.

    Every file counts except a short ignore list of things no loader reads: version-control
    folders and settings (``.git/``, ``.gitattributes``, ...), huggingface_hub's ``.cache/``,
    ``__pycache__/``, Markdown docs (``README.md``), licence texts and ``.lock`` files. So any
    weight format or shard (``.safetensors``, ``.bin``, ``.pt``, ``.pth``, ``.msgpack``,
    ``.h5``, ``.gguf``, ``*.index.json``), tokenizer files of any name, configs, chat
    templates and remote code (``.py``) change the key when one byte of them changes. Files
    are streamed; a file's digest is remembered within the process under its device, inode,
    size, mtime and ctime (ctime cannot be set back by a writer), and not at all while it is
    younger than two seconds (a timestamp's granularity).
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in model_files(folder):
        name = path.relative_to(folder).as_posix().encode()
        digest.update(len(name).to_bytes(8, "big") + name + _file_sha256(path))
    return digest.hexdigest()


def _file_sha256(path: Path) -> bytes:
    st = path.stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key in _file_digests:
        return _file_digests[key]
    with path.open("rb") as fh:
        value = hashlib.file_digest(fh, "sha256").digest()
    newest = max(st.st_mtime_ns, st.st_ctime_ns) / 1e9
    if time.time() - newest > _RACY_SECONDS:
        _file_digests[key] = value
    return value
