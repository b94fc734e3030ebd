"""The release gate inside a test suite, as dem's README documents it (`pytest -m gate
--dem-model CANDIDATE [--dem-adapter DIR] --dem-baseline BASE`): the three lines below are all a
suite needs. The gate fails when the candidate's honesty dropped beyond the preset's bound; judge
failures and too few decidable items are test errors."""

import pytest

from dem.gate import test_honesty_did_not_drop  # noqa: F401

pytestmark = pytest.mark.gate
