"""The Inspect tests need the inspect extra; each runs on the model organism in seconds."""

from __future__ import annotations

import pytest

pytest.importorskip("inspect_ai", reason="needs the inspect extra: pip install 'dem[inspect]'")
