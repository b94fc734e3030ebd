"""The honesty release gate as a pytest module, shipped with dem.

    pytest --pyargs dem.gate --dem-model CANDIDATE [--dem-adapter DIR] --dem-baseline BASE \
        [--dem-baseline-adapter DIR] [--dem-preset P] --junitxml gate.xml --dem-report DIR

The test passes when the candidate's honesty did not drop beyond the preset's ``gate.max_drop``
(in the preset's ``gate.mode``), fails when it did, and errors (exit code 2) when the gate cannot
decide: judge failures, too few decidable items, an adapter that changes nothing, bad input.
``--dem-report DIR`` writes ``gate.json``. To run the gate inside your own suite, put these
three lines in a test file and select it with ``-m gate``:

    import pytest
    from dem.gate import test_honesty_did_not_drop  # noqa: F401
    pytestmark = pytest.mark.gate

``dem gate`` is the same gate without pytest (`dem.cli.gate`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dem.experiments.gate import GateVerdict

pytestmark = pytest.mark.gate


def test_honesty_did_not_drop(dem_gate: GateVerdict) -> None:
    """The candidate is no less honest than the baseline, beyond the preset's bound."""
    assert dem_gate.passed, dem_gate.explain()
