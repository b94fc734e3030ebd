"""Figures and tables of the guard: honesty metrics over time from a decision log, and the
trade-off of a replay over the policy's threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dem.atomic import atomic_open
from dem.errors import DataError
from dem.guard.log import DECISIONS, METRICS, read_jsonl, window_metrics
from dem.report.plots import pyplot, save_figure


def plot_tradeoff(result: Mapping[str, Any], path: str | Path) -> Path:
    """Two panels: recall of lies and false abstentions against the threshold, and recall
    against false abstentions (each point a threshold); the policy's threshold marked."""
    plt = pyplot()
    pts = [p for p in result["curve"] if p["lies_caught"] is not None]
    th = [p["threshold"] for p in pts]
    rec = [p["lies_caught"] for p in pts]
    fal = [p["false_abstentions"] or 0.0 for p in pts]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.5, 3.4))
    a.plot(th, rec, label="lies caught (recall)", color="#c44e52")
    a.plot(th, fal, label="false abstentions", color="#4c72b0")
    chosen = result["policy"]["threshold"]
    a.axvline(chosen, color="black", linestyle="--", linewidth=1, label=f"policy ({chosen:g})")
    a.set_xlabel("threshold on the risk")
    a.set_ylabel("share")
    a.set_ylim(-0.02, 1.02)
    a.legend(fontsize=7)
    b.plot(fal, rec, marker=".", color="#55a868")
    b.set_xlabel("false abstentions (honest answers held back)")
    b.set_ylabel("lies caught")
    b.set_xlim(-0.02, 1.02)
    b.set_ylim(-0.02, 1.02)
    auc = result.get("risk_auc")
    b.set_title("" if auc is None else f"risk AUC {auc:.3f}", fontsize=8)
    fig.suptitle(f"guard trade-off: {result['model']} on {result['data']}", fontsize=9)
    return save_figure(fig, path)


def load_windows(folder: str | Path, window: int | None = None) -> list[dict[str, Any]]:
    """The metrics windows of a log folder: ``metrics.jsonl`` as written, or recomputed from
    ``decisions.jsonl`` in windows of `window` decisions (also when no metrics line exists
    yet, e.g. while a server runs)."""
    from dem.guard.log import Decision

    folder = Path(folder)
    decisions_path, metrics_path = folder / DECISIONS, folder / METRICS
    if not decisions_path.is_file():
        raise DataError(f"no {DECISIONS} here: is this a guard log folder?", folder)
    metrics = read_jsonl(metrics_path) if metrics_path.is_file() else []
    if window is None and metrics:
        return metrics
    rows = read_jsonl(decisions_path)
    fields = set(Decision.__dataclass_fields__)
    decisions = [Decision(**{k: v for k, v in r.items() if k in fields}) for r in rows]
    size = window or 20
    return [window_metrics(decisions[i : i + size]) for i in range(0, len(decisions), size)]


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def windows_table(windows: Sequence[Mapping[str, Any]]) -> str:
    lines = [
        "| window | decisions | checked | contradictions | evasions | errors | held back | "
        "mean risk | guard p50 s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, w in enumerate(windows, start=1):
        lines.append(
            f"| {i} | {w['n']} | {w['n_checked']} | {_fmt(w['contradiction_rate'])} | "
            f"{_fmt(w['evasion_rate'])} | {_fmt(w['error_rate'])} | {_fmt(w['held_back_rate'])} "
            f"| {_fmt(w['mean_risk'])} | {_fmt(w['guard_seconds_p50'])} |"
        )
    return "\n".join(lines)


def plot_windows(windows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Rates among checked answers per window over time."""
    plt = pyplot()
    x = list(range(1, len(windows) + 1))
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for key, label, color, style in (
        ("contradiction_rate", "contradictions", "#c44e52", "-"),
        ("held_back_rate", "flagged or held back", "#8172b2", "--"),
        ("evasion_rate", "evasions", "#ccb974", "-"),
        ("error_rate", "guard errors", "#4c72b0", "-"),
    ):
        ys = [float("nan") if w.get(key) is None else w[key] for w in windows]
        ax.plot(x, ys, marker=".", label=label, color=color, linestyle=style)
    ax.set_xlabel(f"window ({windows[0]['n'] if windows else 0} decisions each)")
    ax.set_ylabel("share of checked answers")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax.set_title("guard honesty metrics over time", fontsize=9)
    return save_figure(fig, path)


def write_log_report(folder: str | Path, out: str | Path, window: int | None = None) -> Path:
    """``OUT/report.md`` and ``OUT/metrics.png`` from a guard log folder."""
    windows = load_windows(folder, window)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figure = plot_windows(windows, out / "metrics.png") if windows else None
    total: dict[str, int] = {}
    for w in windows:
        for k, v in w["verdicts"].items():
            total[k] = total.get(k, 0) + v
    lines = [
        f"# Guard log: {folder}",
        "",
        f"{sum(w['n'] for w in windows)} decisions in {len(windows)} windows; verdicts: "
        + (", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "none"),
        "",
        windows_table(windows),
        "",
    ]
    if figure is not None:
        lines += [f"![guard metrics over time]({figure.name})", ""]
    path = out / "report.md"
    with atomic_open(path) as fh:
        fh.write("\n".join(lines))
    return path
