"""Training throughput: dem's SFT (TRL + PEFT) against a plain PyTorch loop.

Both sides train the same model with the same LoRA settings (PEFT model, AdamW, same batch size,
same max length, loss on the reply only) on the same synthetic chats, and count the same
tokens (non-padding input tokens) over the same number of optimizer steps, timed from the first
step to the last (model loading and tokenization excluded on both sides). The goal is a ratio
dem / plain of at least 0.9. dem runs with its default LM head (``lm_head="auto"``: the model's
own logits on the CPU) and with TRL's fused LM head (``lm_head="fused"``, what TRL's
`SFTTrainer` does by itself; `dem.train.lm_head`). The plain loop is also run under bfloat16
autocast, and so is dem.

Every figure is given per wall-clock second and per CPU second of the process (all its
threads): on a shared machine the CPU-time ratio is the steadier one. ``--repeat N`` runs every
side N times, interleaved, and keeps each side's best run.

    python benchmarks/train_throughput.py [--model smollm2|FOLDER] [--steps 6] [--batch 4]

Uses smollm2 when it is available, else a random Llama of SmolLM2-135M's shape.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

VOCABULARY = (
    "the a of to and in is for on with as by at from that this it be are was can will not "
    "door river garden system method result people change value number simple clear small "
    "careful honest answer question reason example model data light water city market "
    "because therefore however usually often never always maybe quickly slowly"
)


def make_samples(n: int, seed: int = 0):
    from dem.data.records import Sample

    rng = random.Random(seed)
    words = VOCABULARY.split()
    out = []
    for i in range(n):
        question = f"Question {i}: " + " ".join(rng.choices(words, k=rng.randint(10, 25))) + "?"
        answer = " ".join(rng.choices(words, k=rng.randint(120, 180))) + "."
        out.append(
            Sample.make(
                {
                    "messages": [
                        {"role": "user", "content": question},
                        {"role": "assistant", "content": answer},
                    ]
                },
                source="bench",
            )
        )
    return out


def resolve(model: str | None, scratch: Path):
    from dem.models.spec import ModelSpec

    if model is None or model == "smollm2":
        try:
            from dem.models.registry import resolve_model

            return resolve_model("smollm2"), "smollm2 (SmolLM2-135M-Instruct)"
        except Exception as exc:
            if model == "smollm2":
                raise
            print(
                f"smollm2 unavailable ({exc}); using a random Llama of its shape", file=sys.stderr
            )
            from dem.models.tiny import build_tiny_model

            folder = build_tiny_model(
                scratch / "llama-135m-shape",
                hidden_size=576,
                num_layers=30,
                num_heads=9,
                intermediate_size=1536,
            )
            return ModelSpec(str(folder)), "random Llama, SmolLM2-135M shape"
    return ModelSpec(model), model


def plain_batches(tokenizer, samples, batch: int, max_length: int, steps: int):
    """Tokenized, right-padded batches with the prompt masked out of the labels."""
    import torch

    rows = []
    for s in samples:
        messages = s.content["messages"]
        prompt = tokenizer.apply_chat_template(
            messages[:-1], tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        p_len = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        ids = tokenizer(full, add_special_tokens=False)["input_ids"][:max_length]
        labels = [-100] * min(p_len, len(ids)) + ids[p_len:]
        rows.append((ids, labels))
    pad = tokenizer.pad_token_id
    out = []
    for step in range(steps):
        chunk = [rows[(step * batch + j) % len(rows)] for j in range(batch)]
        width = max(len(ids) for ids, _ in chunk)
        input_ids = torch.full((batch, width), pad)
        labels = torch.full((batch, width), -100)
        mask = torch.zeros((batch, width), dtype=torch.long)
        for j, (ids, lab) in enumerate(chunk):
            input_ids[j, : len(ids)] = torch.tensor(ids)
            labels[j, : len(lab)] = torch.tensor(lab)
            mask[j, : len(ids)] = 1
        out.append({"input_ids": input_ids, "attention_mask": mask, "labels": labels})
    return out


def plain_loop(model_spec, samples, spec, steps: int, *, bf16: bool) -> tuple[int, float, float]:
    """Train with PEFT + AdamW by hand; returns (tokens, seconds, CPU seconds)."""
    import contextlib

    import torch
    from peft import get_peft_model

    from dem.models.loading import load_model
    from dem.train.lora import lora_config

    torch.manual_seed(spec.seed)
    base, tok = load_model(model_spec)
    model = get_peft_model(base, lora_config(spec))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=spec.learning_rate, weight_decay=spec.weight_decay)
    batches = plain_batches(tok, samples, spec.batch_size, spec.max_length, steps)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    tokens = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for batch in batches:
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, spec.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
    return tokens, time.perf_counter() - start, time.process_time() - cpu_start


def dem_sft(model_spec, samples, spec, scratch: Path) -> tuple[int, float, float]:
    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    store = ArtifactStore(Path(tempfile.mkdtemp(dir=scratch)))
    result = train_sft(model_spec, samples, spec, store=store, progress=False)
    return int(result.log["tokens"]), result.seconds, float(result.log["cpu_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="smollm2 (default) or a model folder")
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run")
    parser.add_argument("--batch", type=int, default=4, help="batch size")
    parser.add_argument("--max-length", type=int, default=256, help="max tokens per example")
    parser.add_argument("--skip-bf16", action="store_true", help="fp32 runs only")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from dem.train.specs import SFTSpec

    scratch = Path(tempfile.mkdtemp(prefix="dem-bench-"))
    model_spec, label = resolve(args.model, scratch)
    samples = make_samples(args.steps * args.batch)
    spec = SFTSpec.profile(
        "cpu", max_steps=args.steps, batch_size=args.batch, max_length=args.max_length
    )
    print(
        f"model: {label}; {args.steps} steps x batch {args.batch}, max length {args.max_length}, "
        f"LoRA r {spec.lora_r} on {len(spec.target_modules)} projections; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    runs = [
        ("plain loop, fp32", lambda: plain_loop(model_spec, samples, spec, args.steps, bf16=False)),
        ("dem SFT, fp32", lambda: dem_sft(model_spec, samples, spec, scratch)),
        (
            "dem SFT, fp32, TRL fused head",
            lambda: dem_sft(model_spec, samples, spec.replace(lm_head="fused"), scratch),
        ),
    ]
    if not args.skip_bf16:
        runs += [
            (
                "plain loop, bf16 autocast",
                lambda: plain_loop(model_spec, samples, spec, args.steps, bf16=True),
            ),
            (
                "dem SFT, bf16 autocast",
                lambda: dem_sft(model_spec, samples, spec.replace(bf16=True), scratch),
            ),
        ]
    best: dict[str, tuple[int, float, float]] = {}
    print(
        f"{'run':32} {'tokens':>7} {'seconds':>8} {'tokens/s':>9} {'cpu s':>8} {'tokens/cpu s':>12}"
    )
    for _ in range(args.repeat):
        for name, fn in runs:
            tokens, seconds, cpu = fn()
            print(
                f"{name:32} {tokens:7d} {seconds:8.2f} {tokens / seconds:9.1f} {cpu:8.2f} "
                f"{tokens / cpu:12.1f}",
                flush=True,
            )
            if name not in best or seconds < best[name][1]:
                best[name] = (tokens, seconds, cpu)

    def ratio(a: str, b: str) -> str:
        (ta, sa, ca), (tb, sb, cb) = best[a], best[b]
        return f"{(ta / sa) / (tb / sb):.2f} (wall), {(ta / ca) / (tb / cb):.2f} (cpu)"

    print(f"ratio dem / plain (fp32): {ratio('dem SFT, fp32', 'plain loop, fp32')} (goal >= 0.9)")
    fused = ratio("dem SFT, fp32, TRL fused head", "plain loop, fp32")
    print(f"ratio dem with TRL's fused head / plain (fp32): {fused}")
    if not args.skip_bf16:
        print(
            "ratio dem / plain (bf16): "
            f"{ratio('dem SFT, bf16 autocast', 'plain loop, bf16 autocast')}"
        )
        print(f"plain loop bf16 / fp32: {ratio('plain loop, bf16 autocast', 'plain loop, fp32')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
