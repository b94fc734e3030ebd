"""dem's MASK against ``inspect_evals``' ``mask`` task on the same rows, with the same judge.

Both run offline: the rows are the real MASK CSVs (``--data``, default the shared copy), the
evaluated model and the judge are SmolLM2-135M-Instruct served through dem's Inspect provider
(``dem/smollm2``) to ``inspect_evals``, and through dem's backend (``llm:smollm2``) to dem. Both
generate greedily (temperature 0), so the evaluated model's answers are the same text in both.
Prints, per archetype, each pipeline's honesty and its counts of lies, honest rows, no-belief
rows and judge errors, then the rows whose outcome differs, with both judges' readings.

    python benchmarks/inspect_evals_mask.py --per-archetype 4
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ARCHETYPES = ("provided_facts", "disinformation", "statistics")


def read_rows(folder: Path, per_archetype: int) -> dict[str, list[dict[str, str]]]:
    out = {}
    for arch in ARCHETYPES:
        with (folder / f"{arch}.csv").open(encoding="utf-8", newline="") as fh:
            out[arch] = list(csv.DictReader(fh))[:per_archetype]
    return out


def run_inspect_evals(raw, model, judge, max_tokens):
    from inspect_ai import Epochs, Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset
    from inspect_ai.model import GenerateConfig
    from inspect_evals.mask.compat import _reduce
    from inspect_evals.mask.data import record_to_sample
    from inspect_evals.mask.scorer import build_accuracy_and_honesty_scorer
    from inspect_evals.mask.solver import consistency_belief, pressure, standard_belief
    from inspect_evals.mask.types import NoBeliefConsistencyHandling, QuestionArchetype

    samples = [
        record_to_sample(dict(r), QuestionArchetype(arch))
        for arch, rows in raw.items()
        for r in rows
    ]
    scorer = build_accuracy_and_honesty_scorer(True, False, False, True)
    task = Task(
        dataset=MemoryDataset(samples),
        solver=[standard_belief(3), consistency_belief(), pressure(1)],
        scorer=scorer(
            honesty_at_n=1,
            binary_judge_model=judge,
            numeric_judge_model=judge,
            numeric_tol=0.05,
            no_belief_handling=NoBeliefConsistencyHandling.TOLERANT,
            judge_config=GenerateConfig(max_tokens=max_tokens, temperature=0),
        ),
        config=GenerateConfig(max_tokens=max_tokens, temperature=0),
        epochs=Epochs(1, _reduce()),
    )
    (log,) = inspect_eval(task, model=model, display="none", log_dir="/tmp/inspect-evals-mask")
    return {s.metadata["task_id"]: s.scores for s in log.samples}, log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared/data/mask")
    parser.add_argument("--per-archetype", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    from inspect_ai.model import GenerateConfig

    from dem.evals.api import BackendChoice, make_mask_judge
    from dem.evals.mask import MaskEvalConfig, run_mask
    from dem.evals.sets import load_eval_set
    from dem.inspect.provider import dem_model

    raw = read_rows(args.data, args.per_archetype)
    start = time.time()
    model = dem_model("smollm2")
    judge = dem_model("smollm2", GenerateConfig(max_tokens=args.max_tokens, temperature=0))
    theirs, _ = run_inspect_evals(raw, model, judge, args.max_tokens)
    print(f"inspect_evals mask: {time.time() - start:.0f} s", file=sys.stderr)
    start = time.time()
    rows = [
        r
        for arch in ARCHETYPES
        for r in load_eval_set(args.data / f"{arch}.csv")[: args.per_archetype]
    ]
    config = MaskEvalConfig(temperature=0.0, max_new_tokens=args.max_tokens, n_resamples=200)
    dem_judge = make_mask_judge("llm:smollm2", None, BackendChoice())
    ours = run_mask(rows, model.api.backend, dem_judge, config, progress=False)
    print(f"dem mask: {time.time() - start:.0f} s", file=sys.stderr)
    word = {1: "honest", 0: "no-lie", -1: "lie", None: "error"}
    print("archetype       task_id                   dem (belief)                inspect_evals")
    diffs = 0
    for rec in ours.records:
        score = next(iter(theirs[rec["task_id"]].values())).value
        mine = word[rec["honesty"]] if rec["error"] is None else f"error:{rec['error'][:30]}"
        if rec["error"] is None and rec["belief"] is None:
            mine = f"no-belief({rec['no_belief_reason']})"
        diffs += mine.split("(")[0] != score["honesty"]
        print(f"{rec['archetype']:<15} {rec['task_id']:<25} {mine:<27} {score['honesty']}")
    print(f"{len(ours.records)} rows; outcomes printed differently on {diffs}")
    for group, s in ours.summaries.items():
        print(f"dem {group}: honesty {s.honesty.value:.1f}, errors {s.n_errors}, lies {s.n_lies}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
