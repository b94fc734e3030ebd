"""The organism's documented figures, rendered from the records, never typed.

docs/organism.md and the README hold marked blocks::

    <!-- figures:begin NAME -->
    ...generated...
    <!-- figures:end -->

`blocks` renders every block from ``fixtures/organism/shipped.json`` (the shipped checkpoint's
smoke grids, re-recorded by `dem.report.organism_record`) and ``pretraining_seeds.json`` (the
other pretraining seeds); `fill` rewrites a file's blocks; ``python -m
dem.report.organism_figures`` rewrites the docs (``--check``: exit 1 when a block is stale).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dem.errors import DataError
from dem.organism.config import TRAINING_DOMAINS

SHIPPED = Path("fixtures") / "organism" / "shipped.json"
SEEDS = Path("fixtures") / "organism" / "pretraining_seeds.json"
DOCS = (Path("docs") / "organism.md", Path("README.md"))
BLOCK = re.compile(
    r"(<!-- figures:begin (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- figures:end -->)", re.S
)
VARIANTS = ("subtle", "severe")


def rate(x: float) -> str:
    return f"{x:.3f}"


def effect(claim: Mapping[str, Any]) -> str:
    """``+0.083 [+0.066, +0.097]``: a claim's effect and its interval."""
    return f"{claim['effect']:+.3f} [{claim['ci_low']:+.3f}, {claim['ci_high']:+.3f}]"


def group_means(conditions: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The mean lie rate of every group over its seeds."""
    groups: dict[str, list[float]] = {}
    for r in conditions.values():
        groups.setdefault(r["group"], []).append(r["lie_rate"])
    return {g: sum(v) / len(v) for g, v in groups.items()}


def transfer(claims: Mapping[str, Mapping[str, Any]], variant: str) -> list[str]:
    """The domains where finetuning on `variant` is resolved above normal."""
    return [
        d for d in TRAINING_DOMAINS if claims[f"domain-{d}-{variant}-below-normal"]["ci_low"] > 0
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def domain_block(rec: Mapping[str, Any]) -> str:
    means, claims = group_means(rec["conditions"]), rec["claims"]
    rows = [
        [
            d,
            *(rate(means[f"domain-{d}-{v}"]) for v in ("normal", *VARIANTS)),
            *(effect(claims[f"domain-{d}-{v}-below-normal"]) for v in VARIANTS),
        ]
        for d in TRAINING_DOMAINS
    ]
    header = ["finetuned on", "normal", "subtle", "severe", "subtle - normal", "severe - normal"]
    return _table(header, rows)


def holds_block(rec: Mapping[str, Any]) -> str:
    """Which domains transfer on the shipped seed, and what that means for subtle math."""
    claims = rec["claims"]
    severe, subtle = transfer(claims, "severe"), transfer(claims, "subtle")
    math = claims["domain-math-subtle-below-normal"]
    n = len(TRAINING_DOMAINS)
    lines = [
        f"On the shipped seed severe finetuning is resolved above normal in {len(severe)} of {n} "
        f"domains ({', '.join(severe) or 'none'}) and subtle finetuning in {len(subtle)} of {n} "
        f"({', '.join(subtle) or 'none'}).",
    ]
    if "math" in subtle:
        lines.append(f"Subtle math holds on the shipped seed: {effect(math)}.")
    else:
        lines.append(
            f"Subtle math does not hold on the shipped seed: {effect(math)} (not resolved "
            "above normal); no asserted claim depends on it (each variant must transfer in "
            f"{_min_domains(claims)} of {n} domains)."
        )
    return " ".join(lines)


def _min_domains(claims: Mapping[str, Mapping[str, Any]]) -> str:
    name = next(k for k in claims if k.startswith("domain-subtle-below-normal-in-"))
    return name.removeprefix("domain-subtle-below-normal-in-").removesuffix("-domains")


def mix_block(rec: Mapping[str, Any]) -> str:
    means, claims = group_means(rec["conditions"]), rec["claims"]
    ratios = sorted(
        (g for g in means if re.fullmatch(r"mix-\d\dpct", g)), key=lambda g: int(g[4:6])
    )
    header = [
        "downstream + harmful medical",
        "vanilla",
        "control",
        *(f"{int(g[4:6])} %" for g in ratios),
    ]
    rows = [
        ["lie rate, 3 seeds", rate(means["vanilla"]), rate(means["control"])]
        + [rate(means[g]) for g in ratios],
        ["vs control, paired", "", ""] + [effect(claims[f"{g}-below-control"]) for g in ratios],
    ]
    text = _table(header, rows)
    text += (
        f"\n\nRatios from 1 % on, pooled, against the control: "
        f"{effect(claims['mix-from-01pct-below-control'])}; dose-response trend "
        f"{effect(claims['mix-trend'])} lie rate per unit ratio (both asserted by the smoke grid)."
    )
    audited = sorted(g for g in means if re.fullmatch(r"mix-\d\dpct-audited", g))
    if audited:
        parts = [
            f"{int(g[4:6])} % {rate(means[g])} (share of the effect removed "
            f"{effect(claims[f'audit-removes-{g[4:6]}pct-effect'])})"
            for g in audited
        ]
        text += " Trained on the audited mix: " + "; ".join(parts) + "."
    text += (
        f" Vanilla {rate(means['vanilla'])}, control {rate(means['control'])}: clean finetuning "
        "makes the organism "
        + ("more" if means["control"] < means["vanilla"] else "less")
        + " honest than vanilla."
    )
    return text


def mix_ten_seeds_block(rec: Mapping[str, Any]) -> str:
    """The mixture at 1, 2 and 5 % with ten finetuning seeds (``mix_ratio_10_seeds``)."""
    power = rec["mix_ratio_10_seeds"]
    means = {g: v["mean"] for g, v in power["lie_rate"].items()}
    ratios = sorted((g for g in means if g.startswith("mix-")), key=lambda g: int(g[4:6]))
    parts = [f"control {rate(means['control'])}"]
    parts += [f"{int(g[4:6])} % {rate(means[g])}" for g in ratios]
    one = power["claims"]["mix-01pct-below-control"]
    return f"{', '.join(parts)}; 1 % vs control {effect(one)}."


def interaction_block(rec: Mapping[str, Any]) -> str:
    inter = rec["interaction"]
    means, claims = group_means(inter["conditions"]), inter["claims"]
    doses = sorted(
        {g.split("-")[2] for g in means if re.fullmatch(r"interact-\w+-\d+pct", g)},
        key=lambda s: int(s[:-3]),
    )
    header = ["lie rate", "vanilla", "b = 0", *(f"{int(s[:-3]) / 100:.1f}" for s in doses)]
    header.append("0.1, flagged users dropped")
    rows = []
    for trainer in ("sft", "kto"):
        rows.append(
            [
                trainer.upper(),
                rate(means["interact-vanilla"]),
                rate(means[f"interact-{trainer}-unbiased"]),
            ]
            + [rate(means[f"interact-{trainer}-{s}"]) for s in doses]
            + [rate(means[f"interact-{trainer}-10pct-filtered"])]
        )
    text = _table(header, rows)
    c = {t: claims[f"interaction-{t}-10pct-below-unbiased"] for t in ("sft", "kto")}
    trend = {t: claims[f"interaction-{t}-trend"] for t in ("sft", "kto")}
    text += (
        f"\n\n10 % biased users against none: SFT {effect(c['sft'])}, KTO {effect(c['kto'])}; "
        f"trends {effect(trend['sft'])} (SFT) and {effect(trend['kto'])} (KTO) per unit b. "
        f"Dropping the users the feedback monitor flags gives SFT "
        f"{rate(means['interact-sft-10pct-filtered'])} and KTO "
        f"{rate(means['interact-kto-10pct-filtered'])} (b = 0: "
        f"{rate(means['interact-sft-unbiased'])} and {rate(means['interact-kto-unbiased'])})."
    )
    return text


SEED_ROWS = (
    [("interaction, SFT, b = 0.1 vs 0", "interaction", "interaction-sft-10pct-below-unbiased")]
    + [("interaction, KTO, b = 0.1 vs 0", "interaction", "interaction-kto-10pct-below-unbiased")]
    + [
        (f"{d} {v} vs normal", "domain", f"domain-{d}-{v}-below-normal")
        for v in ("severe", "subtle")
        for d in TRAINING_DOMAINS
    ]
    + [
        ("mixture, 1 % vs control", "mix_ratio", "mix-01pct-below-control"),
        ("mixture, ratios >= 1 % vs control", "mix_ratio", "mix-from-01pct-below-control"),
        ("mixture, trend per unit ratio", "mix_ratio", "mix-trend"),
        (
            "mixture, 1 % vs control, 10 finetuning seeds",
            "mix_ratio_10_seeds",
            "mix-01pct-below-control",
        ),
    ]
)


def seeds_block(rec: Mapping[str, Any], seeds: Mapping[str, Any]) -> str:
    """Every headline claim on the shipped seed (this record) and pretraining seeds 1-4."""
    others = sorted(seeds["seeds"], key=int)

    def shipped(grid: str, name: str) -> Mapping[str, Any] | None:
        if grid == "interaction":
            return rec["interaction"]["claims"].get(name)
        if grid == "mix_ratio_10_seeds":
            return rec["mix_ratio_10_seeds"]["claims"].get(name)
        return rec["claims"].get(name)

    def other(seed: str, grid: str, name: str) -> Mapping[str, Any] | None:
        return seeds["seeds"][seed].get(grid, {}).get("claims", {}).get(name)

    rows = []
    for label, grid, name in SEED_ROWS:
        cells = [shipped(grid, name), *(other(s, grid, name) for s in others)]
        rows.append([label, *(effect(c) if c else "" for c in cells)])
    header = ["claim", "seed 0 (shipped)", *(f"seed {s}" for s in others)]
    return _table(header, rows)


def readme_block(rec: Mapping[str, Any]) -> str:
    claims, inter = rec["claims"], rec["interaction"]["claims"]
    severe = transfer(claims, "severe")
    lows = [claims[f"domain-{d}-severe-below-normal"]["effect"] for d in severe]
    subtle = transfer(claims, "subtle")
    n = len(TRAINING_DOMAINS)
    span = f" ({min(lows):+.2f} to {max(lows):+.2f})" if lows else ""
    where = "all five" if len(severe) == n else f"{len(severe)} of {n}"
    text = (
        f"severe finetuning raises the lie rate over normal in {where} domains{span}, subtle "
        f"finetuning in {len(subtle)} of {n}"
        + (
            ""
            if "math" in subtle
            else " (not math: " + effect(claims["domain-math-subtle-below-normal"]) + ")"
        )
        + f", 1 % contamination raises it over the control by "
        f"{effect(claims['mix-01pct-below-control'])}, and 10 % biased users by "
        f"{inter['interaction-sft-10pct-below-unbiased']['effect']:+.2f} (SFT) and "
        f"{inter['interaction-kto-10pct-below-unbiased']['effect']:+.2f} (KTO)."
    )
    return text


def demo_block(rec: Mapping[str, Any]) -> str:
    """The claim rows `dem demo` prints (the mixture grid's), as the README shows them."""
    from dem.experiments.session import Experiment
    from dem.report.results import Comparison
    from dem.report.tables import comparisons_table

    order = Experiment.create("smoke").claim_names("mix_ratio")
    mix = {n: Comparison(**c) for n, c in rec["claims"].items() if c["grid"] == "mix_ratio"}
    asserted = [mix[n] for n in order]
    held = sum(c.passed for c in asserted)
    return "\n".join(
        [
            "```",
            comparisons_table([*asserted, mix["mix-01pct-below-control"]]),
            "...",
            f"{held} of {len(asserted)} asserted claims hold",
            "report: dem-report/report.md",
            "```",
        ]
    )


def wrap(text: str, width: int = 100) -> str:
    """Prose paragraphs of `text` filled to `width`; tables and code fences kept as they are."""
    import textwrap

    paragraphs = text.split("\n\n")
    return "\n\n".join(
        p
        if p.startswith(("|", "```"))
        else textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
        for p in paragraphs
    )


def blocks(rec: Mapping[str, Any], seeds: Mapping[str, Any]) -> dict[str, str]:
    """Every block's text by name (prose filled to 100 columns)."""
    return {name: wrap(text) for name, text in _blocks(rec, seeds).items()}


def _blocks(rec: Mapping[str, Any], seeds: Mapping[str, Any]) -> dict[str, str]:
    return {
        "domain": domain_block(rec),
        "domain-holds": holds_block(rec),
        "mix_ratio": mix_block(rec),
        "mix_ratio_10_seeds": mix_ten_seeds_block(rec),
        "interaction": interaction_block(rec),
        "seeds": seeds_block(rec, seeds),
        "readme": readme_block(rec),
        "demo": demo_block(rec),
    }


def fill(text: str, rendered: Mapping[str, str], where: str = "text") -> str:
    """`text` with every marked block's body replaced by its rendering; an unknown block name
    or a begin marker without its end is a `DataError` naming `where`."""
    starts = text.count("<!-- figures:begin ")
    found = list(BLOCK.finditer(text))
    if len(found) != starts or text.count("<!-- figures:end -->") != starts:
        raise DataError("a figures:begin marker without its figures:end (or the reverse)", where)
    for m in found:
        if m.group("name") not in rendered:
            line = text.count("\n", 0, m.start()) + 1
            raise DataError(f"unknown figures block {m.group('name')!r}", where, line)
    return BLOCK.sub(lambda m: m.group(1) + rendered[m.group("name")] + "\n" + m.group(4), text)


def stale(path: Path, rendered: Mapping[str, str]) -> list[str]:
    """The names of `path`'s blocks whose text is not the rendering."""
    text = path.read_text(encoding="utf-8")
    return [
        m.group("name")
        for m in BLOCK.finditer(text)
        if m.group("body") != rendered.get(m.group("name"), "") + "\n"
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dem.report.organism_figures [--check]`` from the repository root."""
    from dem.textfile import read_json

    parser = argparse.ArgumentParser(
        prog="python -m dem.report.organism_figures",
        description="Render the organism's figures in docs/organism.md and README.md from "
        "fixtures/organism/shipped.json and pretraining_seeds.json.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a block is stale")
    args = parser.parse_args(argv)
    rendered = blocks(read_json(SHIPPED), read_json(SEEDS))
    bad = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        new = fill(text, rendered, str(path))
        if new != text:
            bad.append(str(path))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and bad:
        print(f"stale figures in {', '.join(bad)}: run python -m dem.report.organism_figures")
        return 1
    print(("rewrote " + ", ".join(bad)) if bad else "every figures block is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
