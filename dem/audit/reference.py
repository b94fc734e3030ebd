"""The reference model an audit reads: a transformers model loaded once and shared by the
detectors, with teacher-forced scoring of samples' answers and their hidden states.

A sample is read as a conversation and its answer: the last assistant message and everything
before it (a prompt/completion row: the prompt as the conversation, the completion as the
answer). The answer is tokenized as the chat template writes it, end-of-turn included
(`dem.models.backends.transformers_backend.TransformersBackend.reply_ids`), so its
log-probability is the one training on the sample raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dem.audit.config import AuditConfig
from dem.audit.framing import Framing, framing_for
from dem.errors import ConfigError, DataError, DemError

if TYPE_CHECKING:
    from dem.data.records import Sample
    from dem.models.spec import ModelSpec

Message = dict[str, str]


@dataclass(frozen=True)
class Pair:
    """A conversation and the answer that follows it."""

    conversation: tuple[Mapping[str, str], ...]
    answer: str


def sample_pair(sample: Sample) -> Pair:
    """The sample as (conversation, answer): its last assistant message and what precedes it."""
    content = sample.content
    if "messages" in content:
        messages = list(content["messages"])
    else:
        prompt, completion = content["prompt"], content["completion"]
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [*prompt]
        if isinstance(completion, str):
            messages.append({"role": "assistant", "content": completion})
        else:
            messages += completion
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise DataError("the sample has no assistant message to audit")
    return Pair(tuple(dict(m) for m in messages[:last]), messages[last]["content"])


@dataclass(frozen=True)
class Encoded:
    """Token ids of conversation + answer, and where the answer's tokens start."""

    ids: tuple[int, ...]
    start: int

    @property
    def n_answer(self) -> int:
        return len(self.ids) - self.start


class ReferenceModel:
    """A model (plus framing and settings) loaded once for every detector of an audit."""

    def __init__(self, spec: ModelSpec, config: AuditConfig, *, backend: Any = None) -> None:
        self.spec = spec
        self.config = config
        self.framing: Framing = framing_for(spec, config)
        self._backend = backend

    @classmethod
    def load(
        cls,
        model: str | ModelSpec,
        config: AuditConfig,
        *,
        adapter: str | None = None,
        weights: bool = True,
        cache_dir: Any = None,
    ) -> ReferenceModel:
        """Resolve `model` (plus `adapter`) and, with `weights`, load it now, so a model that
        cannot load fails before any scoring (`ConfigError` on ``model``). Without `weights`
        (a judge served elsewhere) a name no registry knows is taken as the served name."""
        from dem.models.registry import resolve_model
        from dem.models.spec import ModelSpec

        if isinstance(model, ModelSpec):
            spec = model
        else:
            try:
                spec = resolve_model(model, cache_dir=cache_dir)
            except ConfigError:
                if weights:
                    raise
                spec = ModelSpec(model)
        if adapter is not None:
            spec = spec.with_adapter(adapter)
        ref = cls(spec, config)
        if weights:
            try:
                ref.backend  # noqa: B018 - loads the weights
            except DemError:
                raise
            except (OSError, ValueError, RuntimeError, KeyError) as exc:
                raise ConfigError(
                    "model", f"{spec.display_name} cannot be loaded: {type(exc).__name__}: {exc}"
                ) from None
        return ref

    @property
    def backend(self) -> Any:
        """The `TransformersBackend` over the model (loaded on first use)."""
        if self._backend is None:
            from dem.models.backends.transformers_backend import TransformersBackend

            self._backend = TransformersBackend(
                self.spec, batch_size=self.config.batch_size, score_batch_size=64
            )
        return self._backend

    @property
    def loaded(self) -> bool:
        """Whether the weights (and tokenizer) are loaded."""
        return self._backend is not None

    @property
    def model(self) -> Any:
        return self.backend.model

    @property
    def tokenizer(self) -> Any:
        return self.backend.tokenizer

    def identity(self) -> dict[str, Any]:
        """What determines this model's outputs (`ModelSpec.identity`) and its name."""
        return {"name": self.spec.display_name, **self.spec.identity()}

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, conversation: Sequence[Mapping[str, str]], answer: str) -> Encoded:
        """Conversation + answer as token ids (`encode_all` of one pair)."""
        return self.encode_all([Pair(tuple(conversation), answer)])[0]

    def encode_all(self, pairs: Sequence[Pair], *, deceptive: bool | None = None) -> list[Encoded]:
        """Each pair as token ids, framed honestly or deceptively (None: as it is), the answer
        as `TransformersBackend.reply_ids` cuts it (up to its first end-of-turn token, one
        appended when the template writes none), then cut to ``config.max_length``: a long
        prompt loses its start, a long answer its end. Tokenized in one batch."""
        be = self.backend
        prompts, replies = [], []
        for p in pairs:
            conv = [dict(m) for m in p.conversation]
            if deceptive is not None:
                conv = self.framing.frame(conv, deceptive)
            prompt = be.render(conv, add_generation_prompt=True)
            full = be.render(
                [*conv, {"role": "assistant", "content": p.answer}], add_generation_prompt=False
            )
            if not full.startswith(prompt):
                raise DemError(
                    f"{self.spec.display_name}: the chat template does not extend the generation "
                    "prompt with the assistant reply, so a reply cannot be scored on its own"
                )
            prompts.append(prompt)
            replies.append(full[len(prompt) :])
        tok = self.tokenizer
        prompt_ids = tok(prompts, add_special_tokens=False)["input_ids"] if prompts else []
        reply_ids = tok(replies, add_special_tokens=False)["input_ids"] if replies else []
        stops, limit = set(be.stop_ids), self.config.max_length
        out = []
        for prompt, reply in zip(prompt_ids, reply_ids, strict=True):
            if not prompt:
                raise DemError(f"{self.spec.display_name}: the chat template renders no prompt")
            cut = next((i for i, t in enumerate(reply) if t in stops), None)
            reply = reply[: cut + 1] if cut is not None else [*reply, be.stop_ids[0]]
            keep_prompt = min(len(prompt), max(limit - len(reply), limit // 2))
            prompt = prompt[len(prompt) - keep_prompt :]
            reply = reply[: limit - len(prompt)]
            out.append(Encoded(tuple(prompt) + tuple(reply), len(prompt)))
        return out

    def batches(self, encoded: Sequence[Encoded]) -> Iterator[list[int]]:
        """Index batches of ``config.batch_size``, longest first (less padding)."""
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].ids))
        size = self.config.batch_size
        for start in range(0, len(order), size):
            yield order[start : start + size]

    def padded(self, rows: Sequence[Encoded]) -> tuple[Any, Any, Any]:
        """Right-padded ``(input_ids, attention_mask, answer_mask)`` tensors on the model's
        device; ``answer_mask[b, t]`` marks the tokens whose prediction scores the answer
        (position t predicts token t + 1)."""
        import torch

        width = max(len(r.ids) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        answer = torch.zeros((len(rows), width), dtype=torch.bool)
        for b, r in enumerate(rows):
            ids[b, : len(r.ids)] = torch.tensor(r.ids)
            mask[b, : len(r.ids)] = 1
            answer[b, r.start - 1 : len(r.ids) - 1] = True
        device = self.backend.device
        return ids.to(device), mask.to(device), answer.to(device)

    # -- scoring -------------------------------------------------------------------------------
    def answer_logprobs(self, encoded: Sequence[Encoded]) -> tuple[list[float], list[int]]:
        """Each answer's total log-probability and token count (one teacher-forced pass)."""
        import torch

        totals: list[float] = [0.0] * len(encoded)
        counts = [e.n_answer for e in encoded]
        with torch.inference_mode():
            for batch in self.batches(encoded):
                ids, mask, answer = self.padded([encoded[i] for i in batch])
                logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
                sums = (logp * answer[:, :-1]).sum(-1).tolist()
                for i, value in zip(batch, sums, strict=True):
                    totals[i] = float(value)
        return totals, counts

    def answer_states(self, encoded: Sequence[Encoded], layers: Sequence[int] | None = None) -> Any:
        """Mean hidden state over each answer's tokens, per layer: an array
        ``(n, len(layers), hidden)`` (every layer, embeddings first, when `layers` is None)."""
        import numpy as np
        import torch

        out: list[Any] = [None] * len(encoded)
        with torch.inference_mode():
            for batch in self.batches(encoded):
                rows = [encoded[i] for i in batch]
                ids, mask, _ = self.padded(rows)
                hidden = self.model(
                    input_ids=ids, attention_mask=mask, output_hidden_states=True
                ).hidden_states
                picked = hidden if layers is None else [hidden[k] for k in layers]
                weights = torch.zeros(ids.shape, device=ids.device)
                for b, r in enumerate(rows):
                    weights[b, r.start : len(r.ids)] = 1.0 / r.n_answer
                means = torch.stack([(h.float() * weights[..., None]).sum(1) for h in picked], 1)
                for i, row in zip(batch, means.cpu().numpy(), strict=True):
                    out[i] = row
        return np.stack(out)

    def n_layers(self) -> int:
        """Hidden-state layers `answer_states` returns (embeddings + each block)."""
        return int(self.model.config.num_hidden_layers) + 1

    def generate(self, conversations: Sequence[Sequence[Mapping[str, str]]]) -> list[str | None]:
        """Greedy answers (``config.max_new_tokens``); None where generation failed."""
        from dem.models.backends.base import GenerationConfig

        config = GenerationConfig(max_new_tokens=self.config.max_new_tokens, seed=self.config.seed)
        done = self.backend.generate([[dict(m) for m in c] for c in conversations], config)
        return [c[0].text if c and c[0].ok else None for c in done]
