"""Root conftest: only what must live at the root. dem's fixtures come from `dem.pytest_plugin`."""

from __future__ import annotations

import pytest

from dem.pytest_plugin import share_cores


def pytest_configure(config: pytest.Config) -> None:
    """dem's own tests load real models: under pytest-xdist each worker takes its share of the
    cores (the plugin does this only in runs that use dem's options or fixtures)."""
    share_cores(config)
