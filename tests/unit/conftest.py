"""Fixtures shared by the unit tests of several packages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def set_umask() -> Iterator[Callable[[int], None]]:
    """Call it with a umask to make that the process umask; the old one is restored after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask) and None
    os.umask(old)


@pytest.fixture(scope="session")
def organism_backend() -> Any:
    """The organism's transformers backend, loaded once per worker."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    return get_backend("transformers", resolve_model("organism"))


@pytest.fixture(scope="session")
def organism_items() -> list[Any]:
    """The organism's MASK rows as red-team / guard items (proposition, truth, pressure)."""
    from dem.evals.sets import load_eval_set
    from dem.redteam.items import items_from_rows

    return items_from_rows(load_eval_set("organism:mask"))
