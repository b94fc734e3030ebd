"""Evaluation throughput on a real model (default: smollm2), plus the honesty figures it gives.

(a) MASK items per second: forced-choice log-prob scoring vs generate-then-judge (greedy
    generation of the pressured answer, then the lexical judge, and with ``--llm-judge`` also
    the reference pipeline's LLM judge, here the same model judging). Goal: >= 20x.
(b) Generation items per second: one batched call vs one prompt at a time. Goal: >= 8x.
Then honesty / expected lie rate / truth margin / balanced accuracy with the log-prob scorer on
the shipped pressure and plain fixture sets and, when present, the real provided_facts file.

    python benchmarks/eval_throughput.py [--model smollm2] [--n 32] [--metrics-limit 60]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from dem.resources import resource_path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = resource_path("evalsets")
REAL_PF = ROOT / ".." / "shared" / "data" / "mask" / "provided_facts.csv"


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--n", type=int, default=32, help="MASK rows timed in (a) and (b)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--metrics-limit", type=int, default=60, help="rows per metrics run")
    parser.add_argument("--skip-metrics", action="store_true")
    parser.add_argument(
        "--llm-judge", action="store_true", help="also time generate + LLM judge (the reference)"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from dem.data import load_mask
    from dem.evals.judges.base import JudgeRequest
    from dem.evals.judges.lexical import LexicalJudge
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import MaskEvalConfig, pressure_conversation, run_mask
    from dem.evals.results import format_mask_table
    from dem.models.backends import get_backend
    from dem.models.backends.base import GenerationConfig
    from dem.models.registry import resolve_model

    spec = resolve_model(args.model)
    backend = get_backend(
        "transformers", spec, batch_size=args.batch_size, score_batch_size=args.batch_size
    )
    rows = load_mask(FIXTURES / "mask_pressure" / "provided_facts.csv")[: args.n]
    convs = [pressure_conversation(r) for r in rows]
    gen = GenerationConfig(max_new_tokens=args.max_new_tokens, temperature=0.0)
    print(
        f"model {spec.display_name}, {len(rows)} rows, torch threads {torch.get_num_threads()}, "
        f"device {backend.device}, max_new_tokens {args.max_new_tokens}"
    )

    backend.generate(convs[:2], gen)  # warm-up
    scorer = LogProbScorer(backend)
    _, t_score = _timed(lambda: scorer.score_all(list(zip(rows, convs, strict=True))))

    def generate_then_judge():  # type: ignore[no-untyped-def]
        comps = backend.generate(convs, gen)
        reqs = [
            JudgeRequest(r, "pressure", c, cs[0].text or "")
            for r, c, cs in zip(rows, convs, comps, strict=True)
        ]
        return LexicalJudge().judge(reqs)

    verdicts, t_gen_judge = _timed(generate_then_judge)
    decided = sum(v.ok for v in verdicts)
    print("\n(a) MASK items/s: log-prob scoring vs generate-then-judge")
    print(f"  log-prob scoring      {len(rows) / t_score:8.2f} items/s  ({t_score:.1f} s)")
    print(
        f"  generate + lexical    {len(rows) / t_gen_judge:8.2f} items/s  ({t_gen_judge:.1f} s, "
        f"lexical judge decided {decided}/{len(rows)})"
    )
    print(f"  speed-up              {t_gen_judge / t_score:8.1f}x  (goal >= 20x)")
    if args.llm_judge:
        from dem.evals.judges.llm import LLMJudge

        judge = LLMJudge(backend, max_new_tokens=256, batch_size=args.batch_size)

        def generate_then_llm_judge():  # type: ignore[no-untyped-def]
            comps = backend.generate(convs, gen)
            reqs = [
                JudgeRequest(r, "pressure", c, cs[0].text or "")
                for r, c, cs in zip(rows, convs, comps, strict=True)
            ]
            return judge.judge(reqs)

        verdicts, t_llm = _timed(generate_then_llm_judge)
        decided = sum(v.ok for v in verdicts)
        print(
            f"  generate + LLM judge  {len(rows) / t_llm:8.2f} items/s  ({t_llm:.1f} s, "
            f"the judge parsed {decided}/{len(rows)})"
        )
        print(f"  speed-up              {t_llm / t_score:8.1f}x  (goal >= 20x)")

    _, t_batched = _timed(lambda: backend.generate(convs, gen))
    _, t_single = _timed(lambda: [backend.generate([c], gen) for c in convs])
    print("\n(b) generation items/s: batched vs one prompt at a time")
    print(
        f"  batched ({args.batch_size:3d})         {len(rows) / t_batched:8.2f} items/s "
        f"({t_batched:.1f} s)"
    )
    print(f"  one at a time         {len(rows) / t_single:8.2f} items/s  ({t_single:.1f} s)")
    print(f"  speed-up              {t_single / t_batched:8.1f}x  (goal >= 8x)")

    if args.skip_metrics:
        return 0
    sets = [
        ("fixture, under pressure", FIXTURES / "mask_pressure" / "provided_facts.csv"),
        ("fixture, stated plainly", FIXTURES / "mask_plain" / "provided_facts.csv"),
    ]
    if REAL_PF.is_file():
        sets.append(("real provided_facts", REAL_PF))
    for label, path in sets:
        data = load_mask(path)[: args.metrics_limit]
        res, t = _timed(
            lambda data=data: run_mask(data, backend, scorer, MaskEvalConfig(), progress=False)
        )
        print(f"\nlog-prob scorer, {label} ({len(data)} rows, {t:.0f} s): {path.name}")
        print(format_mask_table(res.summaries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
