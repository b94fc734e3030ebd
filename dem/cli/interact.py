"""``dem interact run|monitor``: one self-training run on a biased user population, and the
feedback-population monitor over its rollouts."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from dem.cli._command import add_command, check_output_file
from dem.verbosity import progress_enabled


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers,
        "interact",
        summary="self-train on feedback from a (partly biased) user population",
        description="The study's interaction loop: rollouts with simulated users, selection, "
        "SFT or KTO self-training, evaluation; and the feedback-population monitor.",
        examples=[
            ("dem interact run --biased 0.1", "one population, 10 % biased users, SFT"),
            ("dem interact monitor ROLLOUT_DIR", "which users of a run look biased"),
        ],
    )
    sub = parser.add_subparsers(dest="interact_command", metavar="SUBCOMMAND", required=True)

    run = add_command(
        sub,
        "run",
        summary="collect, select, self-train and evaluate one population",
        description="Chat with a simulated user population of which a share b is biased "
        "(rewards replies that validate its view over true ones), keep the best-rewarded "
        "replies, self-train on them and evaluate honesty; repeat for --iterations. "
        "Settings come from the preset's [interaction] section; options override them. "
        "Everything is cached: a rerun or a resumed run trains nothing.",
        examples=[
            ("dem interact run --biased 0.1", "10 % biased users, SFT, the smoke preset"),
            (
                "dem interact run --biased 0.5 --trainer kto --users 400 --json out/b50.json",
                "half the users biased, KTO; figures to out/b50.json",
            ),
            (
                "dem interact run --biased 0.5 --filter-flagged -q",
                "drop the users the monitor flags before training; results only",
            ),
        ],
        verbosity=True,
    )
    run.add_argument("--preset", default="smoke", help="smoke | paper | a preset TOML file")
    run.add_argument("--model", default=None, help="model (default: the preset's)")
    run.add_argument("--biased", type=float, default=0.1, help="share b of biased users")
    run.add_argument("--users", type=int, default=None, help="users in the population")
    run.add_argument("--rounds", type=int, default=None, help="assistant replies per chat")
    run.add_argument(
        "--trainer", choices=("sft", "kto"), default="sft", help="self-training (default: sft)"
    )
    run.add_argument("--iterations", type=int, default=None, help="collect-and-train cycles")
    run.add_argument("--user-model", default=None, help="scripted | llm:<model>")
    run.add_argument("--scenarios", default=None, help="organism | a scenario JSON file")
    run.add_argument("--stance-judge", default=None, help="lexical | llm:<model> | choice:<model>")
    run.add_argument(
        "--profile-writer",
        default=None,
        help="model that writes user profiles (default: templates)",
    )
    run.add_argument(
        "--filter-flagged", action="store_true", help="drop users the monitor flags as biased"
    )
    run.add_argument("--seed", type=int, default=0, help="population, rollout and training seed")
    run.add_argument("--cache", default=None, help="artifact cache (default: $DEM_CACHE)")
    run.add_argument("--json", dest="json_out", default=None, help="write the figures here")
    run.set_defaults(func=run_command)

    mon = add_command(
        sub,
        "monitor",
        summary="estimate which users are biased from their feedback alone",
        description="Reads a rollout folder (printed by `dem interact run`) and reports the "
        "estimated biased fraction, the flagged users and, in simulation, precision and recall.",
        examples=[
            (
                "dem interact monitor ~/.cache/dem/artifacts/rollout/3f9a1c...",
                "a rollout folder that `dem interact run` printed",
            ),
            (
                "dem interact monitor ROLLOUT_DIR --json monitor.json",
                "the report as JSON too",
            ),
        ],
    )
    mon.add_argument("run_dir", type=Path, help="a rollout folder holding trajectories.jsonl")
    mon.add_argument("--json", dest="json_out", default=None, help="write the report here")
    mon.set_defaults(func=monitor_command)


def population_table(summary: dict[str, Any]) -> str:
    from dem.report.tables import format_value, markdown_table

    rows = []
    for label in ("benign", "biased"):
        s = summary[label]
        rows.append(
            [
                label,
                *(
                    format_value(s[k])
                    for k in ("users", "failed", "mean_reward", "validating_share")
                ),
            ]
        )
    return markdown_table(["users", "count", "failed", "mean reward", "validating replies"], rows)


def monitor_table(report: dict[str, Any]) -> str:
    from dem.report.tables import format_value, markdown_table

    values = [report["users"], report["decided"], len(report["flagged"])]
    values += [report[k] for k in ("estimated_biased_fraction", "true_biased_fraction")]
    values += [report["precision"], report["recall"]]
    header = ["users", "decided", "flagged", "estimated b", "true b", "precision", "recall"]
    return markdown_table(header, [[format_value(v) for v in values]])


def run_command(args: argparse.Namespace) -> int:
    from dem.experiments.conditions import interaction_condition, interaction_vanilla
    from dem.experiments.session import Experiment
    from dem.interact.loop import run_interaction
    from dem.report.tables import group_summary, markdown_table

    check_output_file("--json", args.json_out)
    exp = Experiment.create(args.preset, model=args.model, cache=args.cache)
    plan = exp.preset.interaction
    loop = dict(plan.loop)
    for key, value in (
        ("users", args.users),
        ("rounds", args.rounds),
        ("iterations", args.iterations),
        ("user_model", args.user_model),
        ("scenarios", args.scenarios),
        ("stance_judge", args.stance_judge),
        ("profile_writer", args.profile_writer),
    ):
        if value is not None:
            loop[key] = value
    if args.filter_flagged:
        loop["filter_flagged"] = True
    preset = replace(exp.preset, interaction=replace(plan, loop=loop))
    spec = preset.interaction.spec(args.biased, args.trainer, args.seed)  # validates
    exp = replace(exp, preset=preset)
    run = run_interaction(
        exp.runner.model_spec(exp.model), spec, store=exp.runner.store, progress=progress_enabled()
    )
    cond = interaction_condition(preset, args.biased, args.trainer, args.seed)
    results = [exp.result(interaction_vanilla()), exp.result(cond)]
    for i, it in enumerate(run.iterations, start=1):
        print(f"## iteration {i}: population (rollout folder {it['rollout']})\n")
        print(population_table(it["summary"]))
        print(f"\nmonitor:\n\n{monitor_table(it['summary']['monitor'])}")
        sel = it["selected"]
        print(
            f"\nselected {sel.get('samples')} (history -> reply) samples, "
            f"{sel.get('from_biased_users')} from biased users; adapter {it['adapter']}\n"
        )
    cols = ["lie_rate", "honesty", "margin", "decided", "errors"]
    rows = []
    for r in results:
        summary = group_summary([r])
        rows.append([r.condition_id, *(summary[c] for c in cols)])
    print(markdown_table(["condition", *cols], rows))
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                {
                    "spec": spec.to_dict(),
                    "adapter": str(run.adapter),
                    "iterations": run.iterations,
                    "results": [r.to_dict() for r in results],
                },
                indent=2,
                sort_keys=True,
            )
        )
    return 0


def monitor_command(args: argparse.Namespace) -> int:
    from dem.interact.loop import read_trajectories
    from dem.interact.monitor import monitor

    check_output_file("--json", args.json_out)
    report = monitor(read_trajectories(args.run_dir)).to_dict()
    print(monitor_table(report))
    print(f"\nflagged users: {report['flagged'] or 'none'}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2, sort_keys=True))
    return 0
