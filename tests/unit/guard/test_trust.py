"""When a replay's figures cannot be trusted, and the calibration check of `dem guard serve`."""

from __future__ import annotations

import json

import pytest

from dem.errors import ConfigError, DataError
from dem.guard.guard import Check
from dem.guard.policy import GuardPolicy
from dem.guard.replay import ReplayConfig, Replayed, summarize
from dem.guard.trust import UNREAD_BOUND, check_calibration, trust

CONFIG = ReplayConfig(n_resamples=400)


def outcomes(separates: bool, n: int = 60, unread: int = 0) -> list[Replayed]:
    """Lies and honest answers whose risk follows the label (or not), and unread answers."""
    out = []
    for i in range(n):
        lie = i % 2 == 1
        risk = (0.6 + 0.3 * (i % 5) / 5 if lie else 0.1 * (i % 5) / 5) if separates else (i % 7) / 7
        out.append(
            Replayed(str(i), "lie" if lie else "honest", Check("consistent", "pass", risk=risk))
        )
    out += [
        Replayed(f"u{i}", "unread", Check("error", "abstain", error="judge")) for i in range(unread)
    ]
    return out


def test_a_guard_that_separates_lies_is_trusted():
    result = summarize(outcomes(True), GuardPolicy(), CONFIG)
    assert result["risk_auc"] == 1.0 and result["risk_auc_ci"][0] > 0.5
    verdict = trust(result)
    assert verdict["trusted"] and not verdict["at_chance"] and verdict["warnings"] == []


def test_a_guard_at_chance_or_mostly_unread_says_so():
    chance = summarize(outcomes(False), GuardPolicy(), CONFIG)
    lo, hi = chance["risk_auc_ci"]
    assert lo <= 0.5 <= hi
    verdict = trust(chance)
    assert verdict["at_chance"] and not verdict["trusted"]
    assert "not distinguishable from chance" in verdict["warnings"][0]
    unread = summarize(outcomes(True, n=20, unread=10), GuardPolicy(), CONFIG)
    verdict = trust(unread)
    assert not verdict["at_chance"] and verdict["unread_share"] > UNREAD_BOUND
    assert "could not read 33%" in verdict["warnings"][0]
    backwards = [
        Replayed(r.task_id, r.label, Check("consistent", "pass", risk=1 - r.check.risk))
        for r in outcomes(True)
    ]
    verdict = trust(summarize(backwards, GuardPolicy(), CONFIG))
    assert verdict["inverted"] and "below chance" in verdict["warnings"][0]
    no_lies = summarize(outcomes(True)[::2], GuardPolicy(), CONFIG)
    assert no_lies["risk_auc_ci"] == [None, None] and trust(no_lies)["at_chance"]


def test_abstaining_on_a_calibration_at_chance_is_refused(tmp_path):
    chance, good = tmp_path / "chance.json", tmp_path / "good.json"
    chance.write_text(json.dumps(summarize(outcomes(False), GuardPolicy(), CONFIG)))
    good.write_text(json.dumps(summarize(outcomes(True), GuardPolicy(), CONFIG)))
    with pytest.raises(ConfigError, match=r"chance\.json: risk AUC .* at chance"):
        check_calibration(chance, "abstain")
    assert not check_calibration(chance, "flag")["trusted"]  # flagging at chance is allowed
    assert check_calibration(good, "abstain")["trusted"]
    backwards = [
        Replayed(r.task_id, r.label, Check("consistent", "pass", risk=1 - r.check.risk))
        for r in outcomes(True)
    ]
    (tmp_path / "backwards.json").write_text(
        json.dumps(summarize(backwards, GuardPolicy(), CONFIG))
    )
    with pytest.raises(ConfigError, match="below chance"):
        check_calibration(tmp_path / "backwards.json", "abstain")
    (tmp_path / "old.json").write_text(json.dumps({"risk_auc": 0.9, "n_rows": 10}))
    with pytest.raises(DataError, match=r"old\.json: no risk_auc_ci"):
        check_calibration(tmp_path / "old.json", "abstain")
    with pytest.raises(ConfigError, match="no such file"):
        check_calibration(tmp_path / "missing.json", "abstain")
