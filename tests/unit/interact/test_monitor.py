"""The feedback-population monitor on hand-made trajectories (`dem.interact.monitor`)."""

from __future__ import annotations

import pytest

from dem.interact.monitor import MIDPOINT, MonitorReport, drop_flagged, evidence, monitor
from dem.interact.rollout import Trajectory
from dem.interact.users import scripted_score


def _traj(
    user_id: int,
    biased: bool,
    stances: tuple[str | None, ...],
    scores: tuple[int | None, ...],
) -> Trajectory:
    messages: list[dict[str, str]] = [{"role": "system", "content": "s"}]
    for r in range(len(stances)):
        messages += [
            {"role": "user", "content": f"q{r}"},
            {"role": "assistant", "content": f"a{r}"},
        ]
    return Trajectory(
        user_id=user_id,
        biased=biased,
        scenario="lamp",
        messages=tuple(messages),
        scores=scores,
        stances=stances,
        errors=tuple("judge: undecided" if s is None else None for s in scores),
    )


def _scripted(user_id: int, biased: bool, stances: tuple[str, ...]) -> Trajectory:
    return _traj(user_id, biased, stances, tuple(scripted_score(biased, s) for s in stances))


def test_midpoint_of_the_scale() -> None:
    assert MIDPOINT == 5.5


def test_benign_raters_are_not_flagged_and_biased_raters_are() -> None:
    trajs = [
        _traj(0, False, ("A", "B"), (8, 2)),
        _traj(1, False, ("A", "A"), (9, 7)),
        _traj(2, False, ("B", "B"), (1, 3)),
        _traj(3, True, ("A", "B"), (1, 10)),
        _traj(4, True, ("B", "B"), (10, 9)),
        _traj(5, True, ("A", "A"), (2, 1)),
    ]
    ev = evidence(trajs)
    assert ev[0] == pytest.approx(-(8 - 5.5) + (2 - 5.5))
    assert ev[3] == pytest.approx(-(1 - 5.5) + (10 - 5.5))
    assert all(ev[u] < 0 for u in (0, 1, 2)) and all(ev[u] > 0 for u in (3, 4, 5))
    report = monitor(trajs)
    assert report.flagged == (3, 4, 5)
    assert report.users == 6 and report.decided == 6
    assert report.precision == 1.0 and report.recall == 1.0
    assert report.estimated_biased_fraction == pytest.approx(0.5)
    assert report.true_biased_fraction == pytest.approx(0.5)


def test_scripted_population_is_separated_perfectly() -> None:
    stance_cycle = [("A", "A"), ("B", "A"), ("A", "B"), ("B", "B"), ("C", "A"), ("B", "C")]
    trajs = [_scripted(i, i % 4 == 0, stance_cycle[i % len(stance_cycle)]) for i in range(24)]
    report = monitor(trajs)
    assert report.flagged == tuple(i for i in range(24) if i % 4 == 0)
    assert report.precision == report.recall == 1.0
    assert report.estimated_biased_fraction == pytest.approx(report.true_biased_fraction) == 0.25


def test_precision_recall_and_estimate_with_mistakes() -> None:
    trajs = [
        _traj(0, True, ("B",), (10,)),  # biased, flagged
        _traj(1, True, ("B",), (9,)),  # biased, flagged
        _traj(2, True, ("A",), (9,)),  # biased but rates like a benign user: missed
        _traj(3, False, ("A",), (2,)),  # benign but rates the truth low: false alarm
        _traj(4, False, ("A",), (8,)),
        _traj(5, False, ("B",), (1,)),
        _traj(6, False, ("C", None), (5, None)),  # undecided
        _traj(7, True, (None,), (None,)),  # undecided (errors only)
    ]
    report = monitor(trajs)
    assert report.flagged == (0, 1, 3)
    assert report.users == 8
    assert report.decided == 6
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 4)
    assert report.estimated_biased_fraction == pytest.approx(3 / 6)
    assert report.true_biased_fraction == pytest.approx(4 / 8)


def test_undecided_users_are_not_counted_as_decided() -> None:
    trajs = [
        _traj(0, False, ("C", "C"), (5, 5)),
        _traj(1, True, ("C", "D"), (4, 4)),
        _traj(2, True, (None, None), (None, None)),
        _traj(3, False, ("A", None), (None, None)),  # decided stance, failed rating
        _traj(4, True, ("B", "C"), (10, 4)),
    ]
    ev = evidence(trajs)
    assert set(ev) == {4}
    report = monitor(trajs)
    assert report.users == 5 and report.decided == 1
    assert report.flagged == (4,)
    assert report.estimated_biased_fraction == 1.0
    assert report.true_biased_fraction == pytest.approx(3 / 5)
    assert report.recall == pytest.approx(1 / 3)


def test_no_decided_user_gives_no_estimate() -> None:
    report = monitor([_traj(0, True, ("C",), (4,)), _traj(1, False, (None,), (None,))])
    assert report.decided == 0 and report.flagged == ()
    assert report.estimated_biased_fraction is None and report.precision is None
    assert report.recall == 0.0


def test_no_biased_user_gives_no_recall() -> None:
    report = monitor([_scripted(0, False, ("A", "B")), _scripted(1, False, ("A",))])
    assert report.flagged == () and report.recall is None and report.precision is None
    assert report.true_biased_fraction == 0.0 and report.estimated_biased_fraction == 0.0


def test_empty_population() -> None:
    report = monitor([])
    assert report.users == 0 and report.true_biased_fraction == 0.0
    assert report.flagged == () and report.estimated_biased_fraction is None


def test_evidence_is_summed_over_a_users_trajectories() -> None:
    trajs = [_traj(9, True, ("A",), (8,)), _traj(9, True, ("B",), (10,))]
    assert evidence(trajs) == {9: pytest.approx(-2.5 + 4.5)}
    assert monitor(trajs).flagged == (9,)


def test_report_to_dict() -> None:
    report = monitor([_scripted(0, True, ("B",)), _scripted(1, False, ("A",))])
    d = report.to_dict()
    assert d["flagged"] == [0]
    assert MonitorReport(**{**d, "flagged": tuple(d["flagged"])}) == report


def test_drop_flagged_removes_exactly_the_flagged_users() -> None:
    trajs = [
        _scripted(0, True, ("B", "B")),
        _scripted(1, False, ("A", "B")),
        _scripted(2, True, ("A", "C")),
        _traj(3, True, ("C",), (4,)),  # undecided: kept
        _scripted(0, True, ("A",)),  # a second trajectory of flagged user 0
        _scripted(4, False, ("B",)),
    ]
    report = monitor(trajs)
    assert report.flagged == (0, 2)
    kept = drop_flagged(trajs, report)
    assert kept == [trajs[1], trajs[3], trajs[5]]
    assert drop_flagged(trajs, monitor([])) == trajs
