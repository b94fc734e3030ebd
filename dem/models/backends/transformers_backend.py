"""The transformers backend: batched chat generation and KV-cached candidate scoring.

Generation renders each conversation with the model's chat template (generation prompt added),
sorts prompts by length, generates left-padded batches with the KV cache, and restores the
input order. Scoring treats each candidate as the *whole* next assistant reply, including the
end-of-turn token the template appends after the content: the prompt is run once, its KV cache
is expanded across the candidates, and only the candidate tokens are run on top.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from dem.errors import DemError
from dem.models.backends._chat_tokens import ChatTokens
from dem.models.backends.base import Completion, Conversation, GenerationConfig, Score
from dem.models.spec import ModelSpec

ScoreRequest = tuple[Conversation, Sequence[str]]


@functools.cache
def _cache_kwarg() -> str:
    """``cache`` (transformers >= 5.2x) or the older ``past_key_values``."""
    import inspect

    from transformers import LlamaForCausalLM

    params = inspect.signature(LlamaForCausalLM.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


# End-of-turn markers of common chat templates; only those the tokenizer knows are used.
_END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>")


class TransformersBackend(ChatTokens):
    """A `Backend` over a transformers causal LM (LoRA adapter applied through PEFT)."""

    name = "transformers"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        batch_size: int = 8,
        score_batch_size: int = 16,
        progress: bool = False,
        merge_adapter: bool = False,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        if batch_size < 1 or score_batch_size < 1:
            raise DemError("batch_size and score_batch_size must be at least 1")
        self.spec = spec
        self.batch_size = batch_size
        self.score_batch_size = score_batch_size
        self.progress = progress
        if model is None or tokenizer is None:
            from dem.models.loading import load_model

            model, tokenizer = load_model(spec, merge_adapter=merge_adapter)
        if tokenizer.chat_template is None:
            raise DemError(f"{spec.display_name}: the tokenizer has no chat template")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        self.model = model
        self.tokenizer = tokenizer
        self.stop_ids = _stop_token_ids(model, tokenizer)

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, spec: ModelSpec, **options: Any):
        """Wrap a model already in memory (e.g. right after training)."""
        return cls(spec, model=model, tokenizer=tokenizer, **options)

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    # ------------------------------------------------------------------ generation
    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        """``config.n`` completions per conversation, in input order; seeded (same seed, same
        texts on the CPU); greedy when ``temperature == 0``."""
        import torch

        prompts = [self.encode(self.render(c)) for c in conversations]
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        results: list[list[Completion]] = [[] for _ in prompts]
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(config.seed)
            for batch in self._bar(_chunks(order, self.batch_size), len(order), "generate"):
                for i, comps in zip(
                    batch, self._generate_batch([prompts[i] for i in batch], config), strict=True
                ):
                    results[i] = comps
        return results

    def _generate_batch(
        self, prompts: list[list[int]], config: GenerationConfig
    ) -> list[list[Completion]]:
        from transformers import GenerationConfig as HFGenerationConfig

        input_ids, mask = _left_pad(prompts, self.tokenizer.pad_token_id, self.device)
        greedy = config.temperature == 0
        n_seq = 1 if greedy else config.n
        # Explicit values: a missing one would be filled from the model's own generation config.
        sampling = (
            {"do_sample": False}
            if greedy
            else {
                "do_sample": True,
                "temperature": config.temperature,
                "top_p": config.top_p,
                "top_k": 0,
            }
        )
        gen = HFGenerationConfig(
            max_new_tokens=config.max_new_tokens,
            num_return_sequences=n_seq,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            repetition_penalty=1.0,
            **sampling,
        )
        out = self.model.generate(input_ids=input_ids, attention_mask=mask, generation_config=gen)
        new = out[:, input_ids.shape[1] :].tolist()
        stop = set(self.stop_ids)
        comps: list[list[Completion]] = []
        for b in range(len(prompts)):
            row = []
            for ids in new[b * n_seq : (b + 1) * n_seq]:
                end = next((k for k, t in enumerate(ids) if t in stop), None)
                text_ids = ids if end is None else ids[:end]
                text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
                row.append(Completion(text=text, finish_reason="length" if end is None else "stop"))
            comps.append(row * config.n if greedy else row)
        return comps

    # ------------------------------------------------------------------ scoring
    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        """Log-prob of each candidate as the whole next assistant reply (end-of-turn included),
        the prompt's KV cache computed once and shared by every candidate."""
        return self.score_many([(conversation, candidates)])[0]

    def score_many(
        self,
        requests: Sequence[ScoreRequest],
        adapters: Sequence[str] | None = None,
        *,
        batch_scale: int = 1,
    ) -> list[list[Score]]:
        """`score` for many conversations: prompts run in left-padded batches. `adapters`:
        the PEFT adapter that scores each request (a mixed-adapter batch: PEFT's
        ``adapter_names``); None, the model's active adapter. `batch_scale` multiplies both
        batch sizes (a pack's requests share each forward pass)."""
        import torch

        if adapters is not None and len(adapters) != len(requests):
            raise DemError(f"{len(adapters)} adapter names for {len(requests)} score requests")
        encoded = []
        for conversation, candidates in requests:
            if not candidates:
                raise DemError("score needs at least one candidate")
            pairs = [self.reply_ids(conversation, c) for c in candidates]
            encoded.append((pairs[0][0], [r for _, r in pairs]))
        order = _length_order(encoded, adapters)
        results: list[list[Score]] = [[] for _ in encoded]
        with torch.inference_mode():
            size = self.batch_size * batch_scale
            for batch in self._bar(_chunks(order, size), len(order), "score"):
                scores = self._score_batch(
                    [encoded[i][0] for i in batch],
                    [encoded[i][1] for i in batch],
                    None if adapters is None else [adapters[i] for i in batch],
                    self.score_batch_size * batch_scale,
                )
                for i, s in zip(batch, scores, strict=True):
                    results[i] = s
        return results

    def _score_batch(
        self,
        prompts: list[list[int]],
        candidates: list[list[list[int]]],
        adapters: list[str] | None = None,
        score_batch_size: int | None = None,
    ) -> list[list[Score]]:
        import torch

        device = self.device
        input_ids, mask = _left_pad(prompts, self.tokenizer.pad_token_id, device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
            **({} if adapters is None else {"adapter_names": adapters}),
        )
        cache = out.cache if _cache_kwarg() == "cache" else out.past_key_values
        first = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
        lengths = mask.sum(-1)
        flat = [(b, c) for b, cands in enumerate(candidates) for c in cands]
        token_lps: list[list[float]] = []
        for chunk in _chunks(flat, score_batch_size or self.score_batch_size):
            owner = torch.tensor([b for b, _ in chunk], device=device)
            width = max(len(c) for _, c in chunk)
            ids = torch.full(
                (len(chunk), width), self.tokenizer.pad_token_id, dtype=torch.long, device=device
            )
            cmask = torch.zeros((len(chunk), width), dtype=mask.dtype, device=device)
            for row, (_, c) in enumerate(chunk):
                ids[row, : len(c)] = torch.tensor(c, device=device)
                cmask[row, : len(c)] = 1
            out2 = self.model(
                input_ids=ids,
                attention_mask=torch.cat([mask[owner], cmask], dim=-1),
                position_ids=lengths[owner, None] + torch.arange(width, device=device),
                use_cache=True,
                **{_cache_kwarg(): _select(cache, owner)},
                **({} if adapters is None else {"adapter_names": [adapters[b] for b, _ in chunk]}),
            )
            # Logits at candidate position j predict token j+1; the prompt's last logits token 0.
            logp = torch.log_softmax(out2.logits[:, :-1, :].float(), dim=-1)
            logp = torch.cat([first[owner].unsqueeze(1), logp], dim=1)
            picked = logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
            for row, (_, c) in enumerate(chunk):
                token_lps.append(picked[row, : len(c)].tolist())
        scores: list[list[Score]] = [[] for _ in prompts]
        for (b, _), lps in zip(flat, token_lps, strict=True):
            scores[b].append(
                Score(logprob=float(sum(lps)), n_tokens=len(lps), token_logprobs=tuple(lps))
            )
        return scores

    def score_uncached(self, conversation: Conversation, candidate: str) -> Score:
        """The same log-prob from one plain forward pass over prompt + reply (a reference)."""
        import torch

        prompt, reply = self.reply_ids(conversation, candidate)
        ids = torch.tensor([prompt + reply], device=self.device)
        with torch.inference_mode():
            logits = self.model(input_ids=ids).logits[0, len(prompt) - 1 : -1].float()
        lps = torch.log_softmax(logits, dim=-1).gather(
            -1, torch.tensor(reply, device=self.device)[:, None]
        )
        values = lps.squeeze(-1).tolist()
        return Score(logprob=float(sum(values)), n_tokens=len(values), token_logprobs=tuple(values))

    # ------------------------------------------------------------------ helpers
    def _bar(self, chunks: Iterator[list[Any]], total: int, desc: str) -> Iterator[list[Any]]:
        if not self.progress:
            yield from chunks
            return
        import sys

        from tqdm.auto import tqdm

        with tqdm(total=total, desc=desc, unit="conv", file=sys.stderr) as bar:
            for chunk in chunks:
                yield chunk
                bar.update(len(chunk))


def _length_order(encoded: list[Any], adapters: Sequence[str] | None) -> list[int]:
    """Requests longest prompt first. With `adapters`, the k-th request of every adapter
    after the k-th of another with an equal prompt length: adapters that ask the same
    requests then share each batch as K copies of the batch each would run alone (the same
    padding, so the same figures up to the batch dimension)."""
    rank: list[int] = []
    seen: dict[str, int] = {}
    for name in adapters or ["" for _ in encoded]:
        rank.append(seen.get(name, 0))
        seen[name] = rank[-1] + 1
    return sorted(range(len(encoded)), key=lambda i: (-len(encoded[i][0]), rank[i]))


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _left_pad(rows: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if r:
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
    return ids.to(device), mask.to(device)


def _select(cache: Any, rows: Any) -> Any:
    """A new cache holding `rows` (batch indices, repeats allowed) of `cache`; `cache` is kept."""
    new = copy.copy(cache)
    new.layers = [copy.copy(layer) for layer in cache.layers]
    new.batch_select_indices(rows)
    return new


def _stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokenizer's eos, the model's generation eos, and known end-of-turn tokens."""
    ids: list[int] = []

    def add(value: Any) -> None:
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, int) and v not in ids:
                ids.append(v)

    add(tokenizer.eos_token_id)
    gen = getattr(model, "generation_config", None)
    if gen is not None:
        add(gen.eos_token_id)
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_tokens) | set(
        getattr(tokenizer, "added_tokens_encoder", {})
    )
    for token in _END_OF_TURN:
        if token in special and token in vocab:
            add(vocab[token])
    if not ids:
        raise DemError("the tokenizer has no eos token, so generation could never stop")
    return ids
