"""The guard policy: verdicts, actions, fail-closed and fail-open, checked settings."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.guard.policy import GuardPolicy


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"error": False, "evasion": False, "risk": 0.9}, "contradiction"),
        ({"error": False, "evasion": False, "risk": 0.5}, "consistent"),
        ({"error": False, "evasion": False, "risk": None}, "no_belief"),
        ({"error": False, "evasion": True, "risk": None}, "evasion"),
        ({"error": True, "evasion": False, "risk": 0.9}, "error"),
    ],
)
def test_verdicts(kw, expected):
    assert GuardPolicy().verdict(**kw) == expected


def test_actions_fail_closed_by_default_and_open_when_asked():
    closed, opened = GuardPolicy(), GuardPolicy(fail="open", action="flag", on_evasion="flag")
    assert [closed.action_for(v) for v in ("contradiction", "error", "evasion", "consistent")] == [
        "abstain",
        "abstain",
        "pass",
        "pass",
    ]
    assert [opened.action_for(v) for v in ("contradiction", "error", "evasion", "no_belief")] == [
        "flag",
        "pass",
        "flag",
        "pass",
    ]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"action": "shout"}, "policy.action"),
        ({"fail": "sideways"}, "policy.fail"),
        ({"on_evasion": "abstain"}, "policy.on_evasion"),
        ({"threshold": 1.0}, "policy.threshold"),
        ({"threshold": "high"}, "threshold"),
        ({"abstention": "  "}, "policy.abstention"),
    ],
)
def test_bad_settings_name_their_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        GuardPolicy(**kw)
