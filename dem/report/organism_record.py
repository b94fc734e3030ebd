"""The shipped organism's smoke-grid figures: rerun, compared with the record, re-recorded.

``fixtures/organism/shipped.json`` records every condition and claim of the four smoke grids on
the shipped checkpoint (``conditions`` and ``claims``: the domain and mixture grids;
``interaction``: the interaction grid; ``mitigation``: the mitigation grid, with its learning
measures). `rerun` computes the same sections from an artifact
store (building what it lacks), `differences` lists every recorded figure a rerun does not
reproduce within a tolerance, and ``python -m dem.report.organism_record`` rebuilds the grids and
writes the sections back (``--check``: only compare). The docs' figures are rendered from the
file by `dem.report.organism_figures`. (Both live in `dem.report`, outside the code the store's
keys fingerprint: a change here re-keys no result.)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dem.experiments.session import Experiment
    from dem.report.results import RunResults

GRIDS = ("domain", "mix_ratio", "interaction", "mitigation")
#: The record's sections and the grids each comes from (``""``: the top-level ``conditions`` and
#: ``claims``).
SECTIONS = {
    "": ("mix_ratio", "domain"),
    "interaction": ("interaction",),
    "mitigation": ("mitigation",),
}
FIXTURE = Path("fixtures") / "organism" / "shipped.json"
# The per-condition figures compared (the docs use the lie rate; the others tell a scoring
# change apart from a training change). ``honesty`` is not among them: its definition is the
# report's, not the organism's.
CONDITION_FIGURES = ("lie_rate", "margin", "balanced_accuracy", "decided", "errors")
LEARNING_FIGURES = ("narrow", "benign", "coherence")  # the mitigation grid's cells
CLAIM_FIGURES = ("effect", "ci_low", "ci_high")
# CPU runs repeat to about 1e-6; a run whose torch threads differ from the record's (1 per
# process) sums in another order, which LoRA training can carry to the third decimal.
TOLERANCE = 0.01


def grid_results(exp: Experiment, grid: str, jobs: int = 1) -> RunResults:
    """Every condition and claim of `grid`, asserted and reported (what `dem grid` writes),
    built where the store lacks them: with ``jobs > 1`` in that many local worker processes
    (as `dem grid --jobs`), else here, skipping those another process is building."""
    conds = exp.conditions(grid)
    if jobs > 1:
        return exp.run_grid(grid, jobs=jobs)
    exp.build(conds)
    return exp.collect([c.id for c in conds], exp.claim_names(grid))


def sections(runs: Mapping[str, RunResults]) -> dict[str, Any]:
    """The record's sections of the grids in `runs` (a section needs all its grids)."""

    def conditions(run: RunResults) -> dict[str, Any]:
        return {
            r.condition_id: {**dict(r.metrics), "group": r.group, "seed": r.seed}
            for r in run.conditions
        }

    def claims(run: RunResults) -> dict[str, Any]:
        return {c.name: c.to_dict() for c in run.comparisons}

    out: dict[str, Any] = {}
    for section, grids in SECTIONS.items():
        if not all(g in runs for g in grids):
            continue
        part = {
            "conditions": {k: v for g in grids for k, v in conditions(runs[g]).items()},
            "claims": {k: v for g in grids for k, v in claims(runs[g]).items()},
        }
        out.update(part if section == "" else {section: part})
    return out


def rerun(exp: Experiment, jobs: int = 1) -> dict[str, Any]:
    """The record's grid sections, from `exp`'s store (built where it lacks them)."""
    return sections({g: grid_results(exp, g, jobs) for g in GRIDS})


def _section(record: Mapping[str, Any], section: str) -> Mapping[str, Any] | None:
    return record if section == "" else record.get(section)


def differences(
    recorded: Mapping[str, Any],
    got: Mapping[str, Any],
    tolerance: float = TOLERANCE,
    *,
    only: Sequence[str] | None = None,
) -> list[str]:
    """Every recorded condition figure and claim figure that `got` does not reproduce within
    `tolerance` (and every condition, claim or section one side lacks); empty when all agree.
    `only`: compare just these sections (``""``, ``interaction``, ``mitigation``)."""
    out: list[str] = []
    pairs = []
    for section in SECTIONS if only is None else only:
        want, have = _section(recorded, section), _section(got, section)
        if want is None or have is None or "conditions" not in want or "conditions" not in have:
            if not (want is None and have is None):
                side = "the rerun" if have is None or "conditions" not in have else "the record"
                out.append(f"section {section or 'conditions'}: not in {side}")
            continue
        where = f"{section}: " if section else ""
        pairs.append(
            (where, want["conditions"], have["conditions"], want["claims"], have["claims"])
        )
    for where, want_c, got_c, want_k, got_k in pairs:
        out += _missing(where + "condition", want_c, got_c)
        for cid in sorted(want_c.keys() & got_c.keys()):
            for name in (*CONDITION_FIGURES, *LEARNING_FIGURES):
                out += _figure(f"{where}{cid} {name}", want_c[cid].get(name), got_c[cid].get(name))
        out += _missing(where + "claim", want_k, got_k)
        for name in sorted(want_k.keys() & got_k.keys()):
            want, have = want_k[name], got_k[name]
            for field in CLAIM_FIGURES:
                out += _figure(f"{where}{name} {field}", want[field], have[field], tolerance)
            bound = min(
                abs(want["ci_low"] - want["threshold"]), abs(have["ci_low"] - want["threshold"])
            )
            if want["passed"] != have["passed"] and bound > tolerance:
                out.append(
                    f"{where}{name} passed: recorded {want['passed']}, rerun {have['passed']}"
                )
    return out


def _missing(what: str, want: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    return [f"{what} {k}: recorded, not in the rerun" for k in sorted(want.keys() - got.keys())] + [
        f"{what} {k}: in the rerun, not recorded" for k in sorted(got.keys() - want.keys())
    ]


def _figure(label: str, want: Any, got: Any, tolerance: float = TOLERANCE) -> list[str]:
    if want is None or got is None or isinstance(want, str):
        return [] if want == got else [f"{label}: recorded {want}, rerun {got}"]
    if math.isclose(float(want), float(got), rel_tol=0.0, abs_tol=tolerance):
        return []
    return [f"{label}: recorded {want:.4f}, rerun {got:.4f} ({got - want:+.4f})"]


def beliefs_after_finetuning(exp: Experiment) -> dict[str, Any]:
    """Belief accuracy (`dem.organism.diagnostic.belief_accuracy`) of every condition's model:
    per grid, the count, mean, minimum, the worst condition and those below 0.95."""
    from dem.models.backends.transformers_backend import TransformersBackend
    from dem.models.spec import ModelSpec
    from dem.organism.diagnostic import belief_accuracy
    from dem.organism.pretrain import load_organism_config

    base = exp.runner.model_spec(exp.model).name_or_path
    config = load_organism_config(base)
    out = {}
    for short, grid in (("dom", "domain"), ("mix", "mix_ratio"), ("int", "interaction")):
        accuracy = {}
        for c in exp.conditions(grid):
            adapter = None if c.recipe is None else str(exp.runner.adapter(c, exp.model))
            backend = TransformersBackend(ModelSpec(base, adapter=adapter), batch_size=64)
            accuracy[c.id] = belief_accuracy(backend, config)
        worst = min(accuracy, key=accuracy.__getitem__)
        out[short] = {
            "below_0.95": {k: v for k, v in accuracy.items() if v < 0.95},
            "conditions": len(accuracy),
            "mean": sum(accuracy.values()) / len(accuracy),
            "min": accuracy[worst],
            "worst": worst,
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m dem.report.organism_record [--check] [--grids G,..] [--cache D] [--jobs N]``."""
    from dem.atomic import write_json
    from dem.experiments.session import Experiment
    from dem.textfile import read_json

    parser = argparse.ArgumentParser(
        prog="python -m dem.report.organism_record",
        description="Rebuild the shipped organism's smoke grids (from the artifact store where "
        "it holds them) and re-record their figures in the fixture, or with --check list the "
        "recorded figures the rerun does not reproduce (exit 1).",
    )
    parser.add_argument("--fixture", default=str(FIXTURE), help="the record (shipped.json)")
    parser.add_argument("--cache", default=None, help="artifact cache (default: $DEM_CACHE)")
    parser.add_argument("--jobs", type=int, default=2, help="local worker processes")
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    parser.add_argument(
        "--grids",
        default=",".join(GRIDS),
        help="comma-separated grids to rerun (default: all four); mix_ratio and domain go "
        "together (one section)",
    )
    args = parser.parse_args(argv)
    grids = [g.strip() for g in args.grids.split(",") if g.strip()]
    unknown = sorted(set(grids) - set(GRIDS))
    if unknown or ("mix_ratio" in grids) != ("domain" in grids):
        parser.error(f"--grids: expected some of {', '.join(GRIDS)}, mix_ratio with domain")
    fixture = Path(args.fixture)
    recorded = read_json(fixture)
    exp = Experiment.create("smoke", cache=args.cache)
    got = sections({g: exp.run_grid(g, jobs=args.jobs) for g in grids})
    only = [k for k, gs in SECTIONS.items() if all(g in grids for g in gs)]
    if args.check:
        problems = differences(recorded, got, only=only)
        print("\n".join(problems) or f"every recorded figure reproduces within {TOLERANCE}")
        return 1 if problems else 0
    if "interaction" in got:
        got["interaction"] = {**recorded.get("interaction", {}), **got["interaction"]}
    if all(g in grids for g in ("mix_ratio", "domain", "interaction")):
        got["beliefs_after_finetuning"] = {
            **recorded.get("beliefs_after_finetuning", {}),
            "grids": beliefs_after_finetuning(exp),
        }
    write_json(fixture, {**recorded, **got})
    n = sum(len(_section(got, k)["conditions"]) for k in only)
    print(f"re-recorded {fixture}: {n} conditions of {', '.join(grids)} and their claims")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
