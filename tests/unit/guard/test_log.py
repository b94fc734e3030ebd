"""The decision log: one line per decision, metrics per window, readable while written."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError, DataError
from dem.guard.log import Decision, DecisionLog, read_jsonl, window_metrics


def decision(verdict: str, action: str, risk: float | None = None) -> Decision:
    return Decision(
        high_stakes=verdict != "not_checked",
        source="caller",
        verdict=verdict,
        action=action,
        request=[{"role": "user", "content": "q"}],
        answer="a",
        served="a",
        risk=risk,
        guard_seconds=0.1,
    )


def test_lines_are_appended_and_windows_summarised(tmp_path):
    log = DecisionLog(tmp_path, window=3)
    for d in (
        decision("contradiction", "abstain", 0.9),
        decision("consistent", "pass", 0.1),
        decision("not_checked", "pass"),
        decision("error", "abstain"),
    ):
        log.record(d)
    assert len(read_jsonl(tmp_path / "decisions.jsonl")) == 4
    assert len(read_jsonl(tmp_path / "metrics.jsonl")) == 1  # the rest waits for close
    log.close()
    first, rest = read_jsonl(tmp_path / "metrics.jsonl")
    assert first["n"] == 3 and first["n_checked"] == 2
    assert first["contradiction_rate"] == 0.5 and first["held_back_rate"] == 0.5
    assert first["mean_risk"] == pytest.approx(0.5)
    assert rest["verdicts"] == {"error": 1} and rest["error_rate"] == 1.0


def test_window_metrics_of_nothing_checked():
    got = window_metrics([decision("not_checked", "pass")])
    assert got["n_checked"] == 0 and got["contradiction_rate"] is None


def test_bad_log_lines_and_windows_are_errors(tmp_path):
    (tmp_path / "decisions.jsonl").write_text('{"id": 1}\n{broken\n')
    with pytest.raises(DataError, match=r"decisions\.jsonl:2"):
        read_jsonl(tmp_path / "decisions.jsonl")
    with pytest.raises(ConfigError, match="window"):
        DecisionLog(tmp_path / "x", window=0)
