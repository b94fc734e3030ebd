"""The vLLM backend: one offline engine per base model, every LoRA adapter served on top of it.

vLLM is CUDA-only and optional (``pip install 'dem[vllm]'``); it is imported only here, when a
backend is built. Generation goes through ``LLM.chat`` with a ``LoRARequest`` for the adapter;
scoring runs each prompt + candidate through ``LLM.generate`` with ``prompt_logprobs=0`` (the
log-prob of every prompt token) and sums the candidate's tokens, end-of-turn included.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dem.errors import DemError
from dem.models.backends.base import Completion, Conversation, GenerationConfig, Score
from dem.models.spec import ModelSpec

_ENGINES: dict[tuple[str, str | None, str], Any] = {}


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise DemError(
            "the vllm backend needs vLLM, which is not installed: pip install 'dem[vllm]' "
            "(CUDA GPUs only; use --backend transformers on the CPU)"
        ) from exc
    return vllm


class VLLMBackend:
    """A `Backend` over an offline ``vllm.LLM`` engine with LoRA enabled."""

    name = "vllm"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        max_lora_rank: int = 64,
        max_loras: int = 4,
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        progress: bool = False,
        **engine_options: Any,
    ) -> None:
        if spec.adapter:  # vLLM drops an adapter it cannot apply silently: check it first
            from dem.models.adapters import check_adapter_folder, check_adapter_weights

            check_adapter_folder(spec.adapter)
            check_adapter_weights(spec.adapter)
        vllm = import_vllm()
        self.spec = spec
        self.progress = progress
        self._vllm = vllm
        dtype = "auto" if spec.dtype == "auto" else spec.dtype
        key = (spec.name_or_path, spec.revision, dtype)
        if key not in _ENGINES:  # one engine per base model, shared by every adapter
            _ENGINES[key] = vllm.LLM(
                model=spec.name_or_path,
                revision=spec.revision,
                dtype=dtype,
                trust_remote_code=spec.trust_remote_code,
                enable_lora=True,
                max_lora_rank=max_lora_rank,
                max_loras=max_loras,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                **engine_options,
            )
        self.llm = _ENGINES[key]
        self.lora = None
        if spec.adapter:
            from vllm.lora.request import LoRARequest

            path = str(Path(spec.adapter).resolve())
            self.lora = LoRARequest(Path(path).name, _lora_id(path), path)

    def _tokenizer(self) -> Any:
        return self.llm.get_tokenizer()

    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        params = self._vllm.SamplingParams(
            n=config.n,
            temperature=config.temperature,
            top_p=config.top_p,
            max_tokens=config.max_new_tokens,
            seed=config.seed,
        )
        outputs = self.llm.chat(
            [[dict(m) for m in c] for c in conversations],
            params,
            use_tqdm=self.progress,
            lora_request=self.lora,
            chat_template=self.spec.chat_template,
            add_generation_prompt=True,
        )
        return [
            [Completion(text=o.text, finish_reason=o.finish_reason) for o in out.outputs]
            for out in outputs
        ]

    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        """Each candidate's tokens (end-of-turn included) scored by ``prompt_logprobs``; vLLM's
        prefix cache shares the conversation's KV blocks between candidates."""
        tok = self._tokenizer()
        if self.spec.chat_template:
            tok.chat_template = self.spec.chat_template
        prompt = tok.apply_chat_template(
            [dict(m) for m in conversation], tokenize=False, add_generation_prompt=True
        )
        prompt_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        eos = tok.eos_token_id
        requests, spans = [], []
        for cand in candidates:
            full = tok.apply_chat_template(
                [*(dict(m) for m in conversation), {"role": "assistant", "content": cand}],
                tokenize=False,
                add_generation_prompt=False,
            )
            if not full.startswith(prompt):
                raise DemError("the chat template does not extend the prompt with the reply")
            reply = tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]
            reply = reply[: reply.index(eos) + 1] if eos in reply else [*reply, eos]
            requests.append({"prompt_token_ids": prompt_ids + reply})
            spans.append((len(prompt_ids), len(prompt_ids) + len(reply)))
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs = self.llm.generate(
            requests, params, use_tqdm=self.progress, lora_request=self.lora
        )
        scores = []
        for out, (start, end), req in zip(outputs, spans, requests, strict=True):
            ids = req["prompt_token_ids"]
            lps = [float(out.prompt_logprobs[i][ids[i]].logprob) for i in range(start, end)]
            scores.append(Score(logprob=sum(lps), n_tokens=len(lps), token_logprobs=tuple(lps)))
        return scores


def _lora_id(path: str) -> int:
    """A stable positive integer id per adapter path (vLLM keys loaded adapters by it)."""
    import hashlib

    return int(hashlib.sha256(path.encode()).hexdigest()[:7], 16) + 1
