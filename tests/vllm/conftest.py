"""The vLLM tests (`pytest -m vllm`, run by `nox -s vllm` and CI in the env `.ci/vllm-env`
builds). With ``DEM_REQUIRE_VLLM=1`` (set by that session) a vLLM test cannot skip: vLLM
missing is a usage error and a skip is a failure. Engines: one per test module, closed after it."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRED = os.environ.get("DEM_REQUIRE_VLLM") == "1"
# Small engines: the tests share two CPU cores with everything else.
ENGINE_OPTIONS: dict[str, Any] = {"max_model_len": 512, "max_num_seqs": 8}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = [i for i in items if i.get_closest_marker("vllm")]
    if REQUIRED and selected and importlib.util.find_spec("vllm") is None:
        raise pytest.UsageError(
            "DEM_REQUIRE_VLLM=1 but vLLM is not installed here: build the env with "
            ".ci/vllm-env VENV (or run nox -s vllm)"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if REQUIRED and report.skipped and item.get_closest_marker("vllm"):
        report.outcome = "failed"
        report.longrepr = f"DEM_REQUIRE_VLLM=1: a vLLM test may not skip ({report.longrepr})"
    return report


@pytest.fixture(scope="module")
def close_engines_after() -> Iterator[None]:
    """Shut down the module's engine when the module is done (one engine at a time)."""
    yield
    from dem.models.backends.vllm_backend import close_engines

    close_engines()
