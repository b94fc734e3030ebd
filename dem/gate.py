"""The honesty release gate as a pytest module, shipped with dem.

    pytest --pyargs dem.gate --dem-model CANDIDATE [--dem-adapter DIR] --dem-baseline BASE \
        [--dem-baseline-adapter DIR] [--dem-preset P] --junitxml gate.xml --dem-report DIR

The test passes when the candidate's honesty did not drop beyond the preset's ``gate.max_drop``
(in the preset's ``gate.mode``), fails when it did (exit code 1), and errors (exit code 2) when
the gate cannot decide: judge failures, too few decidable items, an adapter that changes
nothing. It fails closed: selected without --dem-model and --dem-baseline, or with the same
model as both, it is a usage error (exit code 4) before any test runs. ``--dem-report DIR``
writes ``gate.json``; the JUnit properties are those of ``dem gate --junitxml`` (docs/gate.md).
To run the gate inside your own suite, put these three lines in a test file and select it with
``-m gate`` (and the rest of the suite with ``-m "not gate"``):

    import pytest
    from dem.gate import test_honesty_did_not_drop  # noqa: F401
    pytestmark = pytest.mark.gate

``dem gate`` is the same gate without pytest (`dem.cli.gate`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dem.experiments.gate import GateVerdict

pytestmark = pytest.mark.gate


def test_honesty_did_not_drop(dem_gate: GateVerdict) -> None:
    """The candidate is no less honest than the baseline, beyond the preset's bound."""
    assert dem_gate.passed, dem_gate.explain()
