"""Figures in the shape of the study's: honesty per domain and variant (its Figure 3) and the
relative honesty change per mix ratio against the control (its Figure 4)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from dem.report.results import RunResults


def save_figure(fig: Any, path: str | Path) -> Path:
    """Lay out `fig`, write it to `path` (120 dpi; parent folders made) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _honesty(results: list, metric: str) -> tuple[float, float]:
    """Mean and sd over seeds of the honesty value (1 - lie rate, or the honesty score / 100)."""
    key = "lie_rate" if metric == "lie_rate" else "honesty"
    vals = []
    for r in results:
        v = r.metrics.get(key)
        if v is None:
            continue
        vals.append(1.0 - v if key == "lie_rate" else v / 100.0)
    if not vals:
        return float("nan"), 0.0
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mixture(
    run: RunResults, audited: bool = False
) -> tuple[list[tuple[float, float, float, float]], float, list]:
    """`mix_ratio_bars` (of the audited groups with `audited`), the control's honesty and the
    comparisons against the control."""
    every = {g: rs for g, rs in run.groups("mix_ratio").items() if rs[0].grid == "mix_ratio"}
    plain = {g: rs for g, rs in every.items() if not rs[0].params.get("audited")}
    control = next((rs for rs in plain.values() if rs[0].params.get("ratio") == 0.0), None)
    if control is None:
        return [], float("nan"), []
    groups = {g: rs for g, rs in every.items() if rs[0].params.get("audited")} if audited else plain
    base, _ = _honesty(control, run.metric)
    against = {
        c.treatment: c
        for c in run.comparisons
        if c.grid == "mix_ratio" and c.reference == control[0].group and c.treatment in groups
    }
    points = []
    for group, rs in groups.items():
        ratio = rs[0].params["ratio"]
        cmp = against.get(group)
        if cmp is not None:  # lie-ness effect: honesty falls by it
            change = -100 * cmp.effect / base
            points.append(
                (
                    ratio,
                    change,
                    change + 100 * cmp.ci_high / base,
                    -100 * cmp.ci_low / base - change,
                )
            )
        elif ratio == 0.0 and against:  # the reference: its noise is inside the paired CIs
            points.append((ratio, 0.0, 0.0, 0.0))
        else:
            m, sd = _honesty(rs, run.metric)
            points.append((ratio, 100 * (m - base) / base, 100 * sd / base, 100 * sd / base))
    return sorted(points), base, list(against.values())


def mix_ratio_bars(
    run: RunResults, *, audited: bool = False
) -> list[tuple[float, float, float, float]] | None:
    """(ratio, honesty change, error below, error above) per mixture group (per audited group
    with `audited`), in % of the control's honesty; None without a control (or, with
    `audited`, without audited groups). Where the run holds the grid's comparison of a group
    against the control, the bar is that effect with its (paired) CI; otherwise the difference
    of seed means with the seed sd. The control's bar is 0, without error bars when
    comparisons carry its noise."""
    points, _, _ = _mixture(run, audited)
    return points or None


def plot_mix_ratio(run: RunResults, out: Path) -> Path | None:
    """Relative honesty change (%) vs the control per ratio (`mix_ratio_bars`), the audited
    mixes (when the grid audits) as hatched bars beside their ratio, vanilla dashed."""
    points, base, against = _mixture(run)
    if not points:
        return None
    audited, _, audited_against = _mixture(run, audited=True)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ratios = [r for r, *_ in points]
    xs = list(range(len(points)))
    width = 0.4 if audited else 0.8
    shift = {r: -width / 2 if audited and r in {a for a, *_ in audited} else 0.0 for r in ratios}
    ax.bar(
        [x + shift[r] for x, r in zip(xs, ratios, strict=True)],
        [p[1] for p in points],
        width,
        yerr=[[p[2] for p in points], [p[3] for p in points]],
        color=["#888" if r == 0 else "#c0392b" for r in ratios],
    )
    if audited:
        place = {r: x for x, r in zip(xs, ratios, strict=True)}
        kept = [p for p in audited if p[0] in place]
        ax.bar(
            [place[p[0]] + width / 2 for p in kept],
            [p[1] for p in kept],
            width,
            yerr=[[p[2] for p in kept], [p[3] for p in kept]],
            color="#2980b9",
            hatch="//",
            label="audited (flagged samples quarantined)",
        )
    ax.set_xticks(xs, [f"{100 * r:g}%" if r else "control" for r in ratios])
    vanilla = run.groups().get("vanilla")
    if vanilla:
        v, _ = _honesty(vanilla, run.metric)
        ax.axhline(100 * (v - base) / base, ls="--", color="#2c3e50", label="vanilla")
    if vanilla or audited:
        from matplotlib.patches import Patch

        handles, labels = ax.get_legend_handles_labels()
        if audited:
            handles.insert(0, Patch(color="#c0392b"))
            labels.insert(0, "contaminated")
        ax.legend(handles, labels, loc="lower left", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    of = {"total": "of all samples"}.get(run.info.get("relative_to", ""), "relative to downstream")
    ax.set_xlabel(f"misaligned samples ({of})")
    ax.set_ylabel("honesty change vs control (%)")
    compared = against or audited_against
    bars = f"{100 * compared[0].confidence:g} % CI vs control" if compared else "seed sd"
    ax.set_title(f"Downstream mixture: {run.model} (error bars: {bars})", fontsize=10)
    return save_figure(fig, out)


def plot_domain(run: RunResults, out: Path) -> Path | None:
    """Honesty per domain and variant (bars), vanilla as a line."""
    groups = {g: rs for g, rs in run.groups("domain").items() if rs[0].grid == "domain"}
    if not groups:
        return None
    domains = sorted({rs[0].params["domain"] for rs in groups.values()})
    variants = ["normal", "subtle", "severe"]
    colors = {"normal": "#27ae60", "subtle": "#f39c12", "severe": "#c0392b"}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.8 * len(domains) + 2, 3.6))
    width = 0.8 / len(variants)
    for k, variant in enumerate(variants):
        xs, ys, es = [], [], []
        for d_idx, domain in enumerate(domains):
            rs = [
                r
                for g in groups.values()
                for r in g
                if r.params.get("domain") == domain and r.params.get("variant") == variant
            ]
            if rs:
                m, s = _honesty(rs, run.metric)
                xs.append(d_idx + (k - 1) * width)
                ys.append(100 * m)
                es.append(100 * s)
        ax.bar(xs, ys, width, yerr=es, label=variant, color=colors[variant])
    vanilla = run.groups().get("vanilla")
    if vanilla:
        ax.axhline(
            100 * _honesty(vanilla, run.metric)[0], ls="--", color="#2c3e50", label="vanilla"
        )
    ax.set_xticks(range(len(domains)), domains)
    ax.set_ylabel("1 - lie rate (%)" if run.metric == "lie_rate" else "honesty score (%)")
    ax.set_title(f"Narrow finetuning: {run.model}")
    ax.legend(fontsize=8)
    return save_figure(fig, out)


def plot_interaction(run: RunResults, out: Path) -> Path | None:
    """Honesty (and, when scored, the DeceptionBench rate) against the biased-user share b, one
    line per trainer with seed sd as error bars, the untrained model dashed (the study's
    interaction figure)."""
    cells = [r for r in run.conditions if r.grid == "interaction" and "biased" in r.params]
    results = [r for r in cells if not r.params.get("filtered")]
    filtered = [r for r in cells if r.params.get("filtered")]
    if not results:
        return None
    vanilla = [r for r in run.conditions if r.grid == "interaction" and "biased" not in r.params]
    panels = [("honesty", "1 - lie rate (%)" if run.metric == "lie_rate" else "honesty (%)")]
    if any(r.metrics.get("deception_rate") is not None for r in results):
        panels.append(("deception_rate", "deception rate (%)"))
    trainers = sorted({r.params["trainer"] for r in results})
    colors = {"sft": "#c0392b", "kto": "#2980b9"}
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.6), squeeze=False)
    for ax, (panel, label) in zip(axes[0], panels, strict=True):

        def value(rs: list, panel: str = panel) -> tuple[float, float]:
            if panel == "honesty":
                return _honesty(rs, run.metric)
            vals = [
                r.metrics["deception_rate"]
                for r in rs
                if r.metrics.get("deception_rate") is not None
            ]
            if not vals:
                return float("nan"), 0.0
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            return statistics.fmean(vals), sd

        for trainer in trainers:
            mine = [r for r in results if r.params["trainer"] == trainer]
            points = []
            for b in sorted({r.params["biased"] for r in mine}):
                m, s = value([r for r in mine if r.params["biased"] == b])
                points.append((b, 100 * m, 100 * s))
            xs, ys, es = zip(*points, strict=True)
            color = colors.get(trainer)
            ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=trainer.upper(), color=color)
            dropped = [r for r in filtered if r.params["trainer"] == trainer]
            if dropped:
                m, s = value(dropped)
                ax.errorbar(
                    [dropped[0].params["biased"]],
                    [100 * m],
                    yerr=[100 * s],
                    marker="s",
                    mfc="white",
                    capsize=3,
                    ls="none",
                    color=color,
                    label=f"{trainer.upper()}, flagged users dropped",
                )
        if vanilla:
            ax.axhline(100 * value(vanilla)[0], ls="--", color="#2c3e50", label="vanilla")
        ax.set_xlabel("share of biased users b")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle(f"Self-training on biased feedback: {run.model}")
    return save_figure(fig, out)


def mitigation_points(run: RunResults) -> dict[str, list[tuple[str, Any, Any]]]:
    """Per cell, (defence, removed, narrow kept) `Comparison` pairs from the run's reported
    claims (`dem.experiments.conditions.mitigation_rows`), the defences with both."""
    by_name = {c.name: c for c in run.comparisons}
    out: dict[str, list[tuple[str, Any, Any]]] = {}
    for info in run.info.get("mitigation") or []:
        removed = by_name.get(info["removes-effect"])
        narrow = by_name.get(info["narrow-kept"])
        if removed is not None and narrow is not None:
            out.setdefault(info["cell"], []).append((info["mitigation"], removed, narrow))
    return out


def plot_mitigation(run: RunResults, out: Path) -> Path | None:
    """Dishonesty removed against narrow task kept, one point per defence with its CI bars,
    one panel per cell; the ideal defence sits at (1, 1). A share with no finite value (the
    unmitigated finetune gained nothing) is left out, named in the panel's title."""
    import math

    cells = mitigation_points(run)
    if not cells:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, len(cells), figsize=(5 * len(cells), 4.2), squeeze=False)
    for ax, (cell, points) in zip(axes[0], cells.items(), strict=True):
        skipped = []
        for name, removed, narrow in points:
            values = (removed.effect, narrow.effect, narrow.ci_low, narrow.ci_high)
            if not all(math.isfinite(v) for v in values) or not math.isfinite(removed.ci_low):
                skipped.append(name)
                continue
            ax.errorbar(
                [narrow.effect],
                [removed.effect],
                xerr=[[narrow.effect - narrow.ci_low], [narrow.ci_high - narrow.effect]],
                yerr=[[removed.effect - removed.ci_low], [removed.ci_high - removed.effect]],
                marker="o",
                capsize=3,
                label=name,
            )
        threshold = points[0][1].threshold
        ax.axhline(threshold, ls=":", color="#7f8c8d", label=f"removed > {threshold:g}")
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(1, ls="--", color="#2c3e50", lw=0.8)
        ax.set_xlabel("narrow task kept (share of the unmitigated gain)")
        ax.set_ylabel("dishonesty effect removed (share)")
        title = f"{cell} cell"
        if skipped:
            title += f" (no share: {', '.join(skipped)})"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    removed, narrow = next(iter(cells.values()))[0][1:]
    fig.suptitle(
        f"Defences against emergent dishonesty: {run.model}\n(bars: one-sided "
        f"{100 * removed.confidence:g} % bounds of the share removed, two-sided "
        f"{100 * narrow.confidence:g} % interval of the share kept)",
        fontsize=10,
    )
    return save_figure(fig, out)
