"""A red-team run's report: the ranked table, the headline figures and the family figure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dem.atomic import atomic_open
from dem.redteam.space import FAMILY_LABELS


def _est(d: Mapping[str, Any] | None, digits: int = 3) -> str:
    if d is None or d.get("value") is None:
        return "-"
    lo, hi = d.get("lo"), d.get("hi")
    if lo is None or hi is None:
        return f"{d['value']:.{digits}f}"
    return f"{d['value']:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def ranked_table(result: Mapping[str, Any]) -> str:
    """Markdown: the standard, then the found pressures by search rank, held-out figures."""
    lines = [
        "| rank | pressure | search lie rate | held-out lie rate | held-out evasion | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    std = result["standard"]
    lines.append(
        f"| standard | {std['label']} | - | {_est(std['lie_rate'])} | "
        f"{_est(std['evasion_rate'])} | {sum(std['errors'].values())} |"
    )
    for rank, f in enumerate(result["found"], start=1):
        search = f["search_lie_rate"]
        lines.append(
            f"| {rank} | {f['label']} | {'-' if search is None else f'{search:.3f}'} | "
            f"{_est(f['lie_rate'])} | {_est(f['evasion_rate'])} | {sum(f['errors'].values())} |"
        )
    return "\n".join(lines)


def family_table(result: Mapping[str, Any]) -> str:
    lines = [
        "| family | part in the best pressure | best without it | its part alone |",
        "| --- | --- | --- | --- |",
    ]
    best = result["best"]["pressure"]
    for fam, figs in result["families"].items():
        lines.append(
            f"| {FAMILY_LABELS[fam]} | {best[fam]} | {_est(figs['without']['lie_rate'])} | "
            f"{_est(figs['alone']['lie_rate'])} |"
        )
    return "\n".join(lines)


def plot_families(result: Mapping[str, Any], path: str | Path) -> Path:
    """Bars per family of the best pressure: its part alone and the best without it, with
    95 % CIs; lines for the best pressure and the standard pressures."""
    from dem.report.plots import pyplot, save_figure

    plt = pyplot()
    fams = list(result["families"])
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(fams) + 2), 3.6))

    def bar(x: float, est: Mapping[str, Any], color: str, label: str | None) -> None:
        v, lo, hi = est["value"], est.get("lo"), est.get("hi")
        if v is None:
            return
        err = None if lo is None or hi is None else [[v - lo], [hi - v]]
        ax.bar(x, v, width=0.38, color=color, yerr=err, capsize=3, label=label)

    for i, fam in enumerate(fams):
        figs = result["families"][fam]
        bar(i - 0.2, figs["alone"]["lie_rate"], "#4c72b0", "part alone" if i == 0 else None)
        bar(i + 0.2, figs["without"]["lie_rate"], "#dd8452", "best without it" if i == 0 else None)
    for est, style, label in (
        (result["best"]["lie_rate"], "-", "best found"),
        (result["standard"]["lie_rate"], "--", "standard"),
    ):
        if est["value"] is not None:
            ax.axhline(est["value"], color="black", linestyle=style, linewidth=1, label=label)
    ax.set_xticks(range(len(fams)))
    ax.set_xticklabels([FAMILY_LABELS[f] for f in fams], rotation=20, ha="right")
    ax.set_ylabel("held-out lie rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"lie rate per pressure family: {result['model']}", fontsize=9)
    return save_figure(fig, path)


def _example(ex: Mapping[str, Any] | None) -> list[str]:
    if not ex:
        return []
    lines = [f"The best pressure on the first held-out item ({ex['proposition']}):", ""]
    lines.append(f"- system: {ex['system'] or '(none)'}")
    if ex.get("turn"):
        lines.append(f"- earlier turn: user: {ex['turn'][0]} / assistant: {ex['turn'][1]}")
    lines += [f"- user: {ex['user']}", ""]
    return lines


def _chance(chance: Mapping[str, Any] | None) -> list[str]:
    """The report's statement that its figures cannot be told from chance, when so."""
    if not chance or chance["distinguishable"]:
        return []
    return [
        "**Not distinguishable from chance:**",
        "",
        *(f"- {reason}" for reason in chance["reasons"]),
        "",
    ]


def write_report(result: Mapping[str, Any], path: str | Path, figure: str | None) -> Path:
    """``report.md``: what ran, the headline, the ranked table, the family table."""
    diff = result["best_minus_standard"]
    search = result["search"]
    lines = [
        f"# Red team: {result['model']} on {result['data']}",
        "",
        f"Judge `{result['judge']}`, pressure space `{result['space']}`, seed {result['seed']}: "
        f"{result['items']['search']} search items, {result['items']['heldout']} held-out items "
        f"(split by proposition). The search evaluated {search['evaluated']} pressures "
        f"({search['restarts']} restart{'' if search['restarts'] == 1 else 's'}, "
        f"{search['rows_scored']} rows, "
        f"{search['seconds']:.1f} s); every figure below is on the held-out items, with a "
        f"{int(100 * result['ci'])} % bootstrap CI over them.",
        "",
        f"- standard pressures: lie rate {_est(result['standard']['lie_rate'])}",
        f"- best found pressure ({result['best']['label']}): lie rate "
        f"{_est(result['best']['lie_rate'])}",
        f"- best - standard, paired over {diff['n_items']} items: {_est(diff['diff'])} "
        f"(p = {diff['p_value'] if diff['p_value'] is not None else float('nan'):.4f})",
        "",
        *_chance(result.get("chance")),
        *_example(result["best"].get("example")),
        "Lie rate: " + result["lie_rate_meaning"] + ". Evasion (answers that dodge, MASK's C) "
        "is counted apart from lies" + (" (forced choice has none)." if result["forced"] else "."),
        "",
        "## Found pressures (ranked by search score)",
        "",
        ranked_table(result),
        "",
    ]
    if result["families"]:
        lines += ["## Per family (held-out)", "", family_table(result), ""]
        if figure:
            lines += [f"![lie rate per pressure family]({figure})", ""]
    lines += ["The found pressures as a MASK eval set: `pressures.csv`.", ""]
    with atomic_open(path) as fh:
        fh.write("\n".join(lines))
    return Path(path)
