"""vLLM MASK log-prob scoring by requests per call (``score_batch``), base and with an adapter.

Scores the first N organism MASK rows on one engine with each ``score_batch`` in turn (``all``:
every request in one call), twice, for the base model and for a rank-8 LoRA adapter on every
trained projection. The figure behind `CPU_LORA_SCORE_BATCH` (vLLM's CPU LoRA ops gather each
token's adapter matrices, so a big batch is slow with an adapter). Needs the CPU vLLM env
(``.ci/vllm-env VENV``) or a GPU with ``dem[vllm]``.

    python benchmarks/vllm_score_batch.py [--n 120] [--batches all,1,4,16,64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120, help="MASK rows")
    parser.add_argument("--batches", default="all,1,4,16,64")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (vLLM's CPU: 1)")
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        print("vllm_score_batch: skipped, vLLM is not installed here (build .ci/vllm-env VENV)")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import pressure_conversation
    from dem.evals.sets import load_eval_set
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model
    from tests.vllm.adapters import make_adapter

    spec = resolve_model("organism")
    items = [(r, pressure_conversation(r)) for r in load_eval_set("organism:mask")[: args.n]]
    batches = [None if b == "all" else int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        adapter = make_adapter(spec.name_or_path, Path(tmp) / "a", seed=0, std=0.05)
        LogProbScorer(get_backend("vllm", spec)).score_all(items)  # engine start and warm-up
        print("model | score_batch | seconds (two runs)")
        for label, s in (("base", spec), ("adapter", spec.with_adapter(adapter))):
            for batch in batches:
                backend = get_backend("vllm", s, score_batch=batch)
                times = []
                for _ in range(2):
                    start = time.perf_counter()
                    LogProbScorer(backend).score_all(items)
                    times.append(time.perf_counter() - start)
                shown = "all" if batch is None else batch
                print(f"{label} | {shown} | {times[0]:.2f}, {times[1]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
