"""Where the project's own files live: the repository root, with ``fixtures/`` beside ``dem/``."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "fixtures"


def project_file(ref: str | Path) -> Path:
    """`ref` as given when it is absolute or exists from the working folder, else the same
    relative path under the project root (``fixtures/...`` works from anywhere)."""
    path = Path(ref)
    if path.is_absolute() or path.exists():
        return path
    return PROJECT_ROOT / path
