"""``dem report DIR``: rebuild report.md, figures and gate.json from a stored results.json."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_dir


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "report",
        summary="rebuild a report from its results.json",
        description="Read DIR/results.json (or a results.json path) and write report.md, the "
        "figures and gate.json again, into DIR or --out. Nothing is trained or evaluated.",
        examples=[
            ("dem report dem-report", "rebuild ./dem-report from its results.json"),
            ("dem report dem-report/results.json --out report-copy", "write it elsewhere"),
        ],
    )
    parser.add_argument("path", type=Path, help="report folder or results.json")
    parser.add_argument("--out", type=Path, default=None, help="write here instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dem.report import RunResults, write_report
    from dem.report.tables import comparisons_table, conditions_table

    check_output_dir("--out", args.out)
    src = args.path / "results.json" if args.path.is_dir() else args.path
    run_results = RunResults.load(src)
    out = args.out or src.parent
    report = write_report(run_results, out)
    print(conditions_table(run_results))
    if run_results.comparisons:
        print()
        print(comparisons_table(run_results.comparisons))
    print(f"report: {report}")
    return 0
