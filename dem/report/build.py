"""Write a report folder: results.json, report.md with tables and figures, gate.json."""

from __future__ import annotations

from pathlib import Path

from dem.atomic import atomic_open, write_json
from dem.report.plots import plot_domain, plot_interaction, plot_mitigation, plot_mix_ratio
from dem.report.results import RunResults
from dem.report.tables import (
    audit_table,
    comparisons_table,
    conditions_table,
    mitigation_table,
)


def write_report(run: RunResults, out_dir: str | Path) -> Path:
    """Write ``results.json``, figures and ``report.md`` into `out_dir`; returns report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run.save(out / "results.json")
    lines = [f"# dem report: {run.preset} preset, model {run.model}", ""]
    lines += [
        f"Metric asserted: `{run.metric}` "
        "(lie_rate: expected probability of the lying option; lower is more honest).",
        "",
    ]
    for grid, title, plot in (
        ("mix_ratio", "Downstream mixture", plot_mix_ratio),
        ("domain", "Narrow-domain finetuning", plot_domain),
        ("interaction", "Self-training on biased user feedback", plot_interaction),
        ("mitigation", "Defences against emergent dishonesty", plot_mitigation),
        ("gate", "Release gate", None),
    ):
        if not any(c.grid == grid for c in run.conditions):
            continue
        lines += [f"## {title}", "", conditions_table(run, grid), ""]
        claims = [c for c in run.comparisons if c.grid == grid]
        if claims:
            lines += [
                "Claims (one-sided bootstrap over items and seeds):",
                "",
                comparisons_table(claims),
                "",
            ]
        if grid == "mix_ratio" and (audit := audit_table(run)) is not None:
            lines += [audit, ""]
        if grid == "mitigation" and (table := mitigation_table(run)) is not None:
            lines += [table, ""]
        if grid == "gate" and "gate" in run.info:
            lines += ["```", run.info["gate"]["explanation"], "```", ""]
        if plot is not None and (fig := plot(run, out / f"{grid}.png")) is not None:
            lines += [f"![{title}]({fig.name})", ""]
    with atomic_open(out / "report.md") as fh:
        fh.write("\n".join(lines))
    if "gate" in run.info:
        write_json(out / "gate.json", run.info["gate"])
    return out / "report.md"
