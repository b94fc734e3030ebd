"""Fixtures shared by the unit tests of several packages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture
def set_umask() -> Iterator[Callable[[int], None]]:
    """Call it with a umask to make that the process umask; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask) and None
    os.umask(old)
