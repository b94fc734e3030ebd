"""Reports of the guard: metrics over time from a log, the replay's trade-off figure."""

from __future__ import annotations

import pytest

from dem.errors import DataError
from dem.guard.log import Decision, DecisionLog
from dem.guard.replay import THRESHOLDS
from dem.guard.report import load_windows, plot_tradeoff, write_log_report


def fill(folder, n: int, window: int) -> None:
    with DecisionLog(folder, window=window) as log:
        for i in range(n):
            lie = i % 3 == 0
            log.record(
                Decision(
                    high_stakes=True,
                    source="rule:x",
                    verdict="contradiction" if lie else "consistent",
                    action="abstain" if lie else "pass",
                    request=[{"role": "user", "content": "q"}],
                    answer="a",
                    served="a",
                    risk=0.9 if lie else 0.1,
                    guard_seconds=0.01,
                )
            )


def test_the_log_report_draws_windows(tmp_path):
    fill(tmp_path / "log", 25, window=10)
    path = write_log_report(tmp_path / "log", tmp_path / "out")
    text = path.read_text()
    assert "25 decisions in 3 windows" in text and "| 3 | 5 | 5 |" in text
    assert (tmp_path / "out" / "metrics.png").stat().st_size > 1000
    again = load_windows(tmp_path / "log", window=5)
    assert [w["n"] for w in again] == [5] * 5
    assert again[0]["contradiction_rate"] == pytest.approx(0.4)


def test_a_folder_without_a_log_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"decisions\.jsonl"):
        write_log_report(tmp_path, tmp_path / "out")


def test_the_tradeoff_figure(tmp_path):
    result = {
        "model": "m",
        "data": "d",
        "policy": {"threshold": 0.5},
        "risk_auc": 0.9,
        "curve": [
            {"threshold": t, "lies_caught": 1 - t, "false_abstentions": (1 - t) / 2}
            for t in THRESHOLDS
        ],
    }
    assert plot_tradeoff(result, tmp_path / "t.png").stat().st_size > 1000
