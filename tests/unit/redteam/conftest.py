"""Fixtures of the red-team tests: the organism's backend and judge, loaded once."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def organism_backend() -> Any:
    import torch

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    return get_backend("transformers", resolve_model("organism"))


@pytest.fixture(scope="session")
def organism_items() -> list[Any]:
    from dem.evals.sets import load_eval_set
    from dem.redteam.items import items_from_rows

    return items_from_rows(load_eval_set("organism:mask"))
