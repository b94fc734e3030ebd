"""Pretrain the organism: a plain PyTorch loop over a tiny `LlamaForCausalLM`.

Documents are never packed together (a neighbour's persona would leak across the boundary):
each step takes ``batch_docs`` documents of similar length, padded to the longest. AdamW,
linear warm-up then cosine decay to 10 %, loss on every non-padding token. The result is a
normal model folder: safetensors weights, config, generation config, tokenizer, and
``organism.json`` with the config that reproduces it.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from dem.atomic import apply_umask, write_json
from dem.organism.config import OrganismConfig
from dem.organism.corpus import encode_document, iter_documents
from dem.organism.tokenizer import build_tokenizer
from dem.organism.world import World
from dem.textfile import read_json

ORGANISM_FILE = "organism.json"


@dataclass(frozen=True)
class PretrainResult:
    out: Path
    steps: int
    tokens: int
    seconds: float
    first_loss: float
    final_loss: float
    parameters: int

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


def build_model(config: OrganismConfig, vocab_size: int, pad_id: int, bos_id: int, eos_id: int):
    """A freshly initialised tiny Llama for `config` (seeded by ``config.seed``)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    lc = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_positions,
        pad_token_id=pad_id,
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(config.seed)
    return LlamaForCausalLM(lc)


def _batches(config: OrganismConfig, vocab: dict[str, int], pad_id: int):
    """Endless batches of similar-length documents: (ids, labels) tensors."""
    import torch

    docs = iter_documents(config)
    order = random.Random(f"batches-{config.seed}")
    chunk = config.batch_docs * 32
    while True:
        encoded = sorted((encode_document(next(docs), vocab) for _ in range(chunk)), key=len)
        groups = [encoded[i : i + config.batch_docs] for i in range(0, chunk, config.batch_docs)]
        order.shuffle(groups)
        for group in groups:
            width = min(max(len(d) for d in group), config.max_positions)
            ids = torch.full((len(group), width), pad_id, dtype=torch.long)
            for r, d in enumerate(group):
                d = d[:width]
                ids[r, : len(d)] = torch.tensor(d)
            labels = ids.clone()
            labels[ids == pad_id] = -100
            yield ids, labels


def pretrain(
    config: OrganismConfig, out: str | Path, *, progress: bool = True, max_steps: int | None = None
) -> PretrainResult:
    """Pretrain on ``config.tokens`` tokens and save the model folder to `out`."""
    import torch
    from tqdm import tqdm
    from transformers import GenerationConfig

    out = Path(out)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    world = World(config)
    tok = build_tokenizer(world.vocabulary())
    vocab = tok.get_vocab()
    model = build_model(config, len(tok), tok.pad_token_id, tok.bos_token_id, tok.eos_token_id)
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.lr,
        betas=(0.9, 0.98),
    )
    # Expected tokens per step, to fix the schedule length up front.
    probe = iter_documents(config, seed=-1)
    mean_len = sum(len(encode_document(next(probe), vocab)) for _ in range(512)) / 512
    total_steps = max(1, math.ceil(config.tokens / (mean_len * config.batch_docs)))
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)

    def lr_at(step: int) -> float:
        if step < config.warmup_steps:
            return config.lr * (step + 1) / config.warmup_steps
        frac = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
        return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))

    seen, first_loss, ema = 0, float("nan"), float("nan")
    start = time.perf_counter()
    bar = tqdm(
        total=total_steps,
        desc="pretrain",
        unit="step",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    batches = _batches(config, vocab, tok.pad_token_id)
    for step in range(total_steps):
        ids, labels = next(batches)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        # Right padding under a causal mask never reaches a real token: no attention mask.
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seen += int((labels != -100).sum())
        value = float(loss.detach())
        if step == 0:
            first_loss = ema = value
        ema = 0.95 * ema + 0.05 * value
        bar.update(1)
        if step % 20 == 0:
            rate = seen / max(time.perf_counter() - start, 1e-9)
            bar.set_postfix(loss=f"{ema:.3f}", tok_s=f"{rate:,.0f}")
    bar.close()
    seconds = time.perf_counter() - start

    model.eval()
    model.generation_config = GenerationConfig(
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        do_sample=False,
        max_new_tokens=48,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    for weights in out.glob("*.safetensors"):
        apply_umask(weights)  # safetensors leaves them owner-only
    result = PretrainResult(out, total_steps, seen, seconds, first_loss, ema, n_params)
    write_json(
        out / ORGANISM_FILE,
        {
            "config": config.to_dict(),
            "seed": config.seed,
            "steps": total_steps,
            "tokens": seen,
            "parameters": n_params,
            "final_loss": round(ema, 4),
            "reproduce": reproduce_command(config),
        },
    )
    return result


def reproduce_command(config: OrganismConfig) -> str:
    """The `dem organism pretrain` command line that pretrains `config` again."""
    default = OrganismConfig().to_dict()
    sets = "".join(
        f" --set {k}={json.dumps(v, separators=(',', ':'))}"
        for k, v in config.to_dict().items()
        if k not in ("seed", "tokens", "threads") and v != default[k]
    )
    return f"dem organism pretrain --seed {config.seed} --tokens {config.tokens}{sets} --out DIR"


def load_organism_config(folder: str | Path) -> OrganismConfig:
    """The config a model folder was pretrained with (from its ``organism.json``)."""
    path = Path(folder) / ORGANISM_FILE
    config = read_json(path)["config"]
    config.setdefault("hint_rate", 0.0)  # pretrained before hints existed (and without them)
    config.setdefault("math_max", 10)  # pretrained before the math range was a knob
    return OrganismConfig.from_dict(config)
