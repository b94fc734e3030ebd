"""Reports: result records, tables, figures and gate verdicts. Reads results only."""

from dem.report.build import write_report
from dem.report.gate import write_gate_json, write_gate_junit
from dem.report.results import Comparison, ConditionResult, RunResults

__all__ = [
    "Comparison",
    "ConditionResult",
    "RunResults",
    "write_gate_json",
    "write_gate_junit",
    "write_report",
]
