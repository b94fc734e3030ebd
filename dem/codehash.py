"""A fingerprint of dem's own result-affecting code, for the artifact store's keys.

dem's version string does not change when its scoring, training or data-generation code does, so
a key built on it would serve results of old code. `code_fingerprint` hashes the sources of the
named modules instead: each file's syntax tree with docstrings dropped, so a comment, a docstring
or a reformatting keeps the cache, and any change to what the code does invalidates it. Each
artifact kind hashes only the code its build runs (`CODE_SCOPES`), so a change to the evaluation
code re-scores every model without retraining its adapter.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

DEM_ROOT = Path(__file__).resolve().parent
# Everything a cached result depends on; front doors (cli, pytest plugin, gate), reports and
# helpers that never change a number are left out.
RESULT_CODE = (
    "dem.data",
    "dem.organism",
    "dem.models",
    "dem.train",
    "dem.evals",
    "dem.interact",
    "dem.experiments",
    "dem.audit",
)
CODE_SCOPES: dict[str, tuple[str, ...]] = {
    "dataset": ("dem.data", "dem.organism", "dem.experiments.recipes", "dem.experiments.runner"),
    "adapter": ("dem.train", "dem.models", "dem.data.records"),
    "selection": ("dem.interact", "dem.data"),
    # an audited training set: the mix, the audit, and the model and probe it reads
    "audited": (
        "dem.audit",
        "dem.data",
        "dem.models",
        "dem.organism",
        "dem.evals",
        "dem.experiments.recipes",
        "dem.experiments.runner",
    ),
}


def scope_of(kind: str) -> tuple[str, ...]:
    """The modules whose code determines an artifact of `kind` (all result code by default)."""
    return CODE_SCOPES.get(kind, RESULT_CODE)


def _files(module: str) -> list[Path]:
    rel = Path(*module.split(".")[1:])
    folder = DEM_ROOT / rel
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    file = folder.with_suffix(".py")
    return [file] if file.is_file() else []


@functools.cache
def _normalized(path: Path) -> str:
    """The file's syntax tree without docstrings (comments and layout never reach it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


@functools.cache
def _fingerprint(modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    files = sorted({f for m in modules for f in _files(m)})
    if not files:
        raise ValueError(f"no source files for {modules}")
    for path in files:
        digest.update(str(path.relative_to(DEM_ROOT)).encode())
        digest.update(b"\0")
        digest.update(_normalized(path).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def code_fingerprint(modules: Iterable[str]) -> str:
    """sha256 over the normalized sources of `modules` (``dem.train`` or ``dem.data.records``)."""
    return _fingerprint(tuple(sorted(set(modules))))
