from __future__ import annotations

import json

import pytest

from dem.cli import main
from dem.errors import DataError
from dem.experiments.gate import GateVerdict
from dem.report import Comparison, ConditionResult, RunResults, write_report


def _run() -> RunResults:
    conds = [
        ConditionResult(
            "vanilla",
            "vanilla",
            "vanilla",
            {},
            None,
            "m",
            {"lie_rate": 0.2, "decided": 50, "errors": 0},
        )
    ]
    for ratio, lie in ((0.0, 0.18), (0.05, 0.25), (0.1, 0.3)):
        group = "control" if ratio == 0 else f"mix-{round(ratio * 100):02d}pct"
        for seed in (0, 1):
            conds.append(
                ConditionResult(
                    f"{group}-seed{seed}",
                    group,
                    "mix_ratio",
                    {"ratio": ratio},
                    seed,
                    "m",
                    {"lie_rate": lie + 0.01 * seed, "decided": 50, "errors": 0},
                    {"a": lie},
                )
            )
    for variant, lie in (("normal", 0.2), ("severe", 0.3)):
        conds.append(
            ConditionResult(
                f"domain-math-{variant}-seed0",
                f"domain-math-{variant}",
                "domain",
                {"domain": "math", "variant": variant},
                0,
                "m",
                {"lie_rate": lie},
                {},
            )
        )
    cmp = Comparison(
        "mix-05pct-below-control",
        "mix_ratio",
        "lie_rate",
        "mix-05pct",
        "control",
        0.07,
        0.03,
        0.11,
        0.95,
        0.0,
        True,
        50,
        2,
    )
    gate = Comparison(
        "gate",
        "gate",
        "lie_rate",
        "candidate",
        "baseline",
        0.1,
        0.06,
        0.14,
        0.95,
        0.05,
        False,
        50,
        1,
    )
    verdict = GateVerdict(
        "fail", "non-inferiority", 0.05, 0.95, "m+adapter", "m", comparison=gate, mde=0.03
    )
    return RunResults("smoke", "m", "lie_rate", conds, [cmp, gate], {"gate": verdict.to_dict()})


def test_report_files_and_rebuild(tmp_path, capsys):
    report = write_report(_run(), tmp_path / "r")
    text = report.read_text()
    assert "| control | 2 |" in text and "mix-05pct-below-control" in text
    assert (tmp_path / "r" / "mix_ratio.png").stat().st_size > 1000
    assert (tmp_path / "r" / "domain.png").stat().st_size > 1000
    gate = json.loads((tmp_path / "r" / "gate.json").read_text())
    assert gate["verdict"] == "fail" and gate["exit_code"] == 1
    assert gate["comparison"]["effect"] == 0.1 and gate["mde"] == 0.03
    assert "power" in gate["explanation"]
    loaded = RunResults.load(tmp_path / "r" / "results.json")
    assert loaded.to_dict() == _run().to_dict()
    assert main(["report", str(tmp_path / "r"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "report.md").read_text() == text
    assert "report:" in capsys.readouterr().out


def test_bad_results_file_is_a_clear_error(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(DataError, match=r"results\.json"):
        RunResults.load(path)
    path.write_text("[]")
    with pytest.raises(DataError, match=r"results\.json: expected a JSON object"):
        RunResults.load(path)


def test_results_file_that_is_not_utf8_names_file_and_line(tmp_path, capsys):
    folder = tmp_path / "r"
    _run().save(folder / "results.json")
    text = (folder / "results.json").read_text(encoding="utf-8")
    line = text[: text.index('"preset"')].count("\n") + 1
    raw = (folder / "results.json").read_bytes()
    (folder / "results.json").write_bytes(raw.replace(b'"preset"', b'"pr\xe9set"'))
    with pytest.raises(DataError, match=rf"results\.json:{line}: not UTF-8") as err:
        RunResults.load(folder / "results.json")
    assert err.value.line == line
    assert main(["report", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert f"results.json:{line}: not UTF-8" in capsys.readouterr().err


def test_mixture_bars_use_the_paired_comparison_where_there_is_one():
    from dem.report.plots import mix_ratio_bars

    bars = {ratio: rest for ratio, *rest in mix_ratio_bars(_run())}
    base = 1 - (0.18 + 0.19) / 2  # the control's honesty
    change, below, above = bars[0.05]  # compared: effect 0.07 [0.03, 0.11]
    assert change == pytest.approx(-100 * 0.07 / base)
    assert (change - below, change + above) == pytest.approx(
        (-100 * 0.11 / base, -100 * 0.03 / base)
    )
    assert bars[0.0] == [0.0, 0.0, 0.0]  # the reference carries no bar of its own
    change, below, above = bars[0.1]  # not compared: difference of means, seed sd
    assert change == pytest.approx(-100 * 0.12 / base)
    assert below == above == pytest.approx(100 * 0.01 * 2**-0.5 / base)


def test_audit_table_per_ratio(tmp_path):
    from dataclasses import replace

    run = _run()
    mixed = next(c for c in run.comparisons if c.name == "mix-05pct-below-control")
    audited_conds = [
        replace(c, condition_id=c.condition_id.replace("mix-05pct", "mix-05pct-audited"),
                group="mix-05pct-audited", params={"ratio": 0.05, "audited": True})
        for c in run.conditions if c.group == "mix-05pct"
    ]  # fmt: skip
    audited = replace(mixed, name="mix-05pct-audited-below-control", effect=0.01, ci_low=-0.01,
                      ci_high=0.03, treatment="mix-05pct-audited", passed=False,
                      detail="reported, not asserted")  # fmt: skip
    removed = replace(mixed, name="audit-removes-05pct-effect", effect=0.86, ci_low=0.62,
                      ci_high=1.1, threshold=0.5, treatment="mix-05pct audited")  # fmt: skip
    run.conditions += audited_conds
    run.comparisons += [audited, removed]
    run.info["audit"] = [
        {"ratio": 0.05, "detector": "contrastive", "budget": 0.1,
         "contaminated": mixed.name, "audited": audited.name, "removed": removed.name}
    ]  # fmt: skip
    text = write_report(run, tmp_path / "r").read_text()
    assert "Audit: contrastive, the top 0.1 of each mix quarantined." in text
    assert (
        "| 5 % | +0.0700 [+0.0300, +0.1100] | +0.0100 [-0.0100, +0.0300] | "
        "0.86 [0.62, 1.10] | pass |"
    ) in text
    assert (tmp_path / "r" / "mix_ratio.png").is_file()
    from dem.report.plots import mix_ratio_bars

    # the audited mix is in the figure too: its own bar beside its ratio, its paired CI
    base = 1 - (0.18 + 0.19) / 2
    ((ratio, change, below, above),) = mix_ratio_bars(run, audited=True)
    assert ratio == 0.05 and change == pytest.approx(-100 * 0.01 / base)
    assert (change - below, change + above) == pytest.approx(
        (-100 * 0.03 / base, 100 * 0.01 / base)
    )
    assert [r for r, *_ in mix_ratio_bars(run)] == [0.0, 0.05, 0.1]  # the unaudited bars
    assert mix_ratio_bars(_run(), audited=True) is None


def test_the_conditions_table_says_what_each_column_measures():
    from dem.report.tables import conditions_table

    run = _run()
    run.conditions[1].metrics["honesty"] = 100.0  # greedy honesty 100 beside lie rate 0.18
    text = conditions_table(run, "mix_ratio")
    header = text.splitlines()[0]
    assert "lie rate (expected)" in header and "honesty (greedy, %)" in header
    notes = {line.split(":")[0]: line for line in text.splitlines() if line.startswith("- ")}
    assert notes["- lie rate (expected)"].endswith("the claims test this column.")
    assert "most likely answer" in notes["- honesty (greedy, %)"]
    assert "do not contradict" in notes["- honesty (greedy, %)"]
    assert "claims" not in notes["- honesty (greedy, %)"]
    assert conditions_table(run, "mix_ratio", notes=False).splitlines()[-1].startswith("| ")


@pytest.mark.parametrize(
    ("low", "high", "passed", "detail", "label"),
    [
        (0.2, 0.9, True, "", "pass"),
        (-0.4, -0.1, False, "", "FAIL"),  # asserted: a failure whatever its interval
        (0.6, 0.9, True, "reported, not asserted", "(holds)"),
        (0.3, 0.7, False, "reported, not asserted", "(not resolved)"),
        (-0.39, -0.15, False, "reported, not asserted", "(refuted)"),
    ],
)
def test_a_reported_claim_the_data_contradict_is_refuted_not_unresolved(
    low, high, passed, detail, label
):
    from dem.report.results import REPORTED
    from dem.report.tables import comparisons_table, verdict

    assert REPORTED == "reported, not asserted"
    claim = Comparison("c", "mitigation", "removed", "t", "r", (low + high) / 2, low, high,
                       0.95, 0.5, passed, 240, 3, detail)  # fmt: skip
    assert verdict(claim) == label
    assert f"| c | {label} |" in comparisons_table([claim])
