"""vLLM vs transformers backends in one run: generation and MASK log-prob scoring, as ratios.

For each model (default: smollm2 and the organism, the organism through its padded export):
greedy generation of the pressured answer to N MASK rows (tokens/s) and forced-choice scoring
of the same rows (rows/s), on both backends one after the other under the same load, plus a
check that both gave the same texts and verdicts. Needs the CPU vLLM env (``.ci/vllm-env
VENV``) or a GPU with ``dem[vllm]``. Engine start is timed apart, not in the rates.

    python benchmarks/vllm_backend.py [--models smollm2,organism] [--n 16] [--max-new-tokens 32]
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _tokens(backend: Any, rows: list[list[Any]]) -> int:
    """Generated tokens (the reply's tokens plus its stop token when it stopped)."""
    return sum(
        len(backend.encode(c.text)) + (c.finish_reason == "stop") for row in rows for c in row
    )


def bench(model: str, n: int, max_new_tokens: int, vllm_options: dict[str, Any]) -> dict:
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set
    from dem.models.backends import get_backend
    from dem.models.backends.base import GenerationConfig
    from dem.models.backends.vllm_backend import close_engines
    from dem.models.registry import resolve_model

    spec = resolve_model(model)
    data = "organism:mask" if model == "organism" else "dem:mask_pressure"
    rows = load_eval_set(data)[:n]
    items = [(row, pressure_conversation(row)) for row in rows]
    convs = [conv for _, conv in items]
    config = GenerationConfig(max_new_tokens=max_new_tokens)
    tb, load_t = _timed(lambda: get_backend("transformers", spec))
    vb, start_v = _timed(lambda: get_backend("vllm", spec, **vllm_options))
    vb.generate(convs[:1], GenerationConfig(max_new_tokens=2))  # first-call warm-up, both
    LogProbScorer(vb).score_all(items[:1])
    tb.generate(convs[:1], GenerationConfig(max_new_tokens=2))
    out: dict[str, Any] = {"model": model, "rows": len(items), "engine_start_s": start_v}
    out["transformers_load_s"] = load_t
    gen_v, t_gv = _timed(lambda: vb.generate(convs, config))
    gen_t, t_gt = _timed(lambda: tb.generate(convs, config))
    sc_v, t_sv = _timed(lambda: LogProbScorer(vb).score_all(items))
    sc_t, t_st = _timed(lambda: LogProbScorer(tb).score_all(items))
    close_engines()
    out["gen_tok_s"] = (_tokens(tb, gen_v) / t_gv, _tokens(tb, gen_t) / t_gt)
    out["score_rows_s"] = (len(items) / t_sv, len(items) / t_st)
    out["same_texts"] = sum(
        a[0].text == b[0].text for a, b in zip(gen_v, gen_t, strict=True)
    ) / len(items)
    out["same_verdicts"] = sum(
        (a.letter, a.error) == (b.letter, b.error) for a, b in zip(sc_v, sc_t, strict=True)
    ) / len(items)
    out["max_logprob_diff"] = max(
        abs(x - y)
        for a, b in zip(sc_v, sc_t, strict=True)
        if a.logprobs and b.logprobs
        for x, y in zip(a.logprobs, b.logprobs, strict=True)
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="smollm2,organism")
    parser.add_argument("--n", type=int, default=16, help="MASK rows per model")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (vLLM's CPU: 1)")
    parser.add_argument(
        "--vllm-option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="an engine option for vllm.LLM, e.g. enforce_eager=false (repeatable)",
    )
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        print("vllm_backend: skipped, vLLM is not installed here (build .ci/vllm-env VENV)")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    import json

    options = {"max_model_len": 512, "max_num_seqs": 32, "max_loras": 1}
    for item in args.vllm_option:
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    print(
        "model | rows | vLLM engine start | generation tok/s vLLM vs transformers (ratio) | "
        "scoring rows/s vLLM vs transformers (ratio) | same greedy texts | same verdicts | "
        "max |log-prob diff|"
    )
    for model in args.models.split(","):
        r = bench(model, args.n, args.max_new_tokens, options)
        gv, gt = r["gen_tok_s"]
        sv, st = r["score_rows_s"]
        print(
            f"{model} | {r['rows']} | {r['engine_start_s']:.1f} s | {gv:.1f} vs {gt:.1f} "
            f"({gv / gt:.2f}x) | {sv:.2f} vs {st:.2f} ({sv / st:.2f}x) | "
            f"{r['same_texts']:.0%} | {r['same_verdicts']:.0%} | {r['max_logprob_diff']:.1e}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
