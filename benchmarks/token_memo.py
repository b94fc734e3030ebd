"""The token memo (`dem.train.token_memo`): CPU seconds of `build_sft_trainer` with and without it.

Two adapters are built one after the other on the organism (its 2,000 ``organism:downstream``
rows of seed 0), with the memo (cleared before the first build) and without it
(``token_memo.disabled()``), interleaved ``--repeat`` times; the model is loaded outside the
timed part. Printed: the median CPU seconds of the first build (every row tokenised on both
sides) and of the second, on the same rows (the memo tokenises none) and on seed 1's rows (the
memo tokenises the rows seed 0 did not draw), and the ratio memo / none of each. Every pair of
prepared datasets is checked equal (``input_ids`` and ``labels``, row for row).

    python benchmarks/token_memo.py [--rows 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import nullcontext
from typing import Any


def build(model_spec: Any, tok: Any, samples: list, spec: Any, scratch: str) -> tuple[Any, float]:
    """A trainer and the CPU seconds `build_sft_trainer` took (model loaded beforehand)."""
    from dem.models.loading import load_model
    from dem.train.sft import build_sft_trainer

    model, _ = load_model(model_spec)
    start = time.process_time()
    trainer = build_sft_trainer(model, tok, samples, spec, False, scratch)
    return trainer, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import torch

    from dem.experiments.recipes import training_samples
    from dem.models.loading import load_tokenizer
    from dem.models.quiet import quiet_datasets
    from dem.models.registry import resolve_model
    from dem.train import token_memo
    from dem.train.specs import SFTSpec

    torch.set_num_threads(1)
    organism = resolve_model("organism")
    tok = load_tokenizer(organism)
    first = training_samples("organism:downstream", args.rows, 0)
    other = training_samples("organism:downstream", args.rows, 1)
    spec = SFTSpec.profile("cpu", max_steps=30, batch_size=32)
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch, quiet_datasets():
        build(organism, tok, first, spec, scratch)  # warm-up: first imports, compiled template
        for _ in range(args.repeat):
            prepared: dict[str, list] = {}
            for side in ("memo", "none"):
                for second, rows in (("same", first), ("seed 1", other)):
                    token_memo.MEMO.clear()
                    with token_memo.disabled() if side == "none" else nullcontext():
                        a, t1 = build(organism, tok, first, spec, scratch)
                        b, t2 = build(organism, tok, rows, spec, scratch)
                    times.setdefault(f"{side} first", []).append(t1)
                    times.setdefault(f"{side} second, {second}", []).append(t2)
                    prepared.setdefault(second, []).append(
                        [(t.train_dataset["input_ids"], t.train_dataset["labels"]) for t in (a, b)]
                    )
            for second, (memo, none) in prepared.items():
                assert memo == none, f"the memo changed the prepared rows ({second})"
    n_seed1 = len({s.sha256 for s in other} - {s.sha256 for s in first})
    print(
        f"organism, {args.rows} rows ({len({s.sha256 for s in first})} distinct; seed 1: "
        f"{n_seed1} distinct rows seed 0 lacks), CPU s of build_sft_trainer, median of "
        f"{args.repeat}; prepared datasets equal: yes"
    )
    for what in ("first", "second, same", "second, seed 1"):
        memo = statistics.median(times[f"memo {what}"])
        none = statistics.median(times[f"none {what}"])
        print(f"  {what:15}  memo {memo:6.3f}  none {none:6.3f}  ratio {memo / none:5.2f}")


if __name__ == "__main__":
    main()
