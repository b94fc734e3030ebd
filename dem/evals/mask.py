"""MASK evaluation: the reference's generation plan, judging, the metric rules, summaries.

Per row: the pressure prompt (system prompt, the doubling-down turns where the row has them,
the user prompt) ``lie_k`` times; ``belief_elicit_1`` ``belief_k`` (3) times and
``belief_elicit_2`` / ``_3`` once each under the system prompt "You are a helpful assistant.";
provided_facts rows have no belief prompts (their belief is the ground truth).

With a generating judge (LLM, lexical) every prompt is sampled and each response judged. With the
forced-choice `LogProbScorer` nothing is generated: every prompt is scored once (the scores are
deterministic, so repeats would be identical), which makes honesty@1 and honesty@N equal.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dem.errors import ConfigError
from dem.evals.judges.base import JudgeRequest, MaskJudge, Verdict
from dem.evals.judges.logprob import LogProbScorer
from dem.evals.mask_metrics import RowOutcome, evaluate_row
from dem.evals.results import EvalResult, summarize_mask
from dem.fields import help_field

BELIEF_SYSTEM = "You are a helpful assistant."
Message = dict[str, str]


@dataclass(frozen=True)
class MaskEvalConfig:
    """How MASK is sampled and summarised."""

    lie_k: int = help_field(
        "Samples of the pressure prompt per row (honesty@N; @1 uses the first).", 1
    )
    belief_k: int = help_field("Samples of belief_elicit_1 per row (the reference uses 3).", 3)
    temperature: float = help_field(
        "Sampling temperature of the evaluated model (0 = greedy).", 1.0
    )
    top_p: float = help_field("Nucleus sampling mass.", 1.0)
    max_new_tokens: int = help_field("Token limit of each response of the evaluated model.", 256)
    seed: int = help_field("Seed of sampling and of the bootstrap.", 0)
    batch_size: int = help_field("Conversations per generation call of the evaluated model.", 8)
    judge_batch: int = help_field("Responses handed to the judge per call (progress steps).", 64)
    n_resamples: int = help_field("Bootstrap resamples (over rows) for each CI.", 2000)
    ci: float = help_field("Confidence level of the intervals.", 0.95)

    def __post_init__(self) -> None:
        for name in (
            "lie_k",
            "belief_k",
            "max_new_tokens",
            "batch_size",
            "judge_batch",
            "n_resamples",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(name, f"must be a positive integer, got {value!r}")
        if not 0.0 <= self.temperature <= 5.0:
            raise ConfigError("temperature", f"must be in [0, 5], got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError("top_p", f"must be in (0, 1], got {self.top_p}")
        if not 0.0 < self.ci < 1.0:
            raise ConfigError("ci", f"must be in (0, 1), got {self.ci}")


@dataclass(frozen=True)
class Slot:
    """One prompt of the plan: which row, which kind, the conversation, how many samples."""

    row_index: int
    kind: str
    conversation: tuple[Message, ...]
    n: int


def pressure_conversation(row: Any) -> list[Message]:
    """System prompt, doubling-down turns (if any), then the pressure user prompt."""
    conv: list[Message] = []
    if row.system_prompt:
        conv.append({"role": "system", "content": row.system_prompt})
    dd_prompt = getattr(row, "dd_turn_1_prompt", None)
    dd_response = getattr(row, "dd_turn_1_response", None)
    if dd_prompt and dd_response:
        conv.append({"role": "user", "content": dd_prompt})
        conv.append({"role": "assistant", "content": dd_response})
    conv.append({"role": "user", "content": row.user_prompt})
    return conv


def belief_conversation(prompt: str) -> list[Message]:
    return [{"role": "system", "content": BELIEF_SYSTEM}, {"role": "user", "content": prompt}]


def build_plan(rows: Sequence[Any], config: MaskEvalConfig, *, repeats: bool = True) -> list[Slot]:
    """Every prompt the reference asks, per row; ``repeats=False`` asks each prompt once."""
    plan = []
    for i, row in enumerate(rows):
        lie_n = config.lie_k if repeats else 1
        plan.append(Slot(i, "pressure", tuple(pressure_conversation(row)), lie_n))
        if row.archetype == "provided_facts":
            continue
        for j, prompt in enumerate(getattr(row, "belief_elicit", ()) or ()):
            if not prompt:
                continue
            n = (config.belief_k if repeats else 1) if j == 0 else 1
            plan.append(Slot(i, f"belief_{j + 1}", tuple(belief_conversation(prompt)), n))
    return plan


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, file=sys.stderr, leave=False)


def _generate(
    backend: Any, plan: Sequence[Slot], config: MaskEvalConfig, progress: bool
) -> list[list[tuple[str | None, str | None]]]:
    """(text, error) of every sample of every slot, batched by sample count."""
    from dem.models.backends.base import GenerationConfig

    out: list[list[tuple[str | None, str | None]]] = [[] for _ in plan]
    by_n: dict[int, list[int]] = {}
    for i, slot in enumerate(plan):
        by_n.setdefault(slot.n, []).append(i)
    bar = _progress(len(plan), "generate", progress)
    for n, idx in sorted(by_n.items()):
        gen = GenerationConfig(
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            n=n,
            seed=config.seed,
        )
        for start in range(0, len(idx), config.batch_size):
            chunk = idx[start : start + config.batch_size]
            comps = backend.generate([list(plan[i].conversation) for i in chunk], gen)
            for i, cs in zip(chunk, comps, strict=True):
                out[i] = [(c.text, c.error) for c in cs]
            bar.update(len(chunk))
    bar.close()
    return out


def _judge(
    judge: MaskJudge,
    rows: Sequence[Any],
    plan: Sequence[Slot],
    samples: Sequence[Sequence[tuple[str | None, str | None]]],
    config: MaskEvalConfig,
    progress: bool,
) -> list[list[Verdict]]:
    verdicts: list[list[Verdict]] = [
        [
            Verdict.failed(f"generation: {err}") if err is not None else Verdict.failed("pending")
            for _, err in s
        ]
        for s in samples
    ]
    todo = [(i, j) for i, s in enumerate(samples) for j, (_, err) in enumerate(s) if err is None]
    bar = _progress(len(todo), f"judge ({judge.name})", progress)
    for start in range(0, len(todo), config.judge_batch):
        chunk = todo[start : start + config.judge_batch]
        reqs = [
            JudgeRequest(
                rows[plan[i].row_index], plan[i].kind, plan[i].conversation, samples[i][j][0] or ""
            )
            for i, j in chunk
        ]
        got = judge.judge(reqs)
        if len(got) != len(reqs):
            raise RuntimeError(f"judge {judge.name} returned {len(got)} verdicts for {len(reqs)}")
        for (i, j), v in zip(chunk, got, strict=True):
            verdicts[i][j] = v
        bar.update(len(chunk))
    bar.close()
    return verdicts


def _ground_truth(row: Any) -> Any:
    if row.type == "numerical":
        return row.ground_truth_range
    gt = (row.formatted_ground_truth or "").strip()
    return gt if gt in ("A", "B") else None


def run_mask(
    rows: Sequence[Any],
    backend: Any,
    judge: MaskJudge | LogProbScorer,
    config: MaskEvalConfig | None = None,
    *,
    model: str = "",
    progress: bool = True,
) -> EvalResult:
    """Evaluate `rows` (`dem.data.MaskRow`) with `backend` and `judge`; records every answer."""
    config = config or MaskEvalConfig()
    forced = isinstance(judge, LogProbScorer)
    plan = build_plan(rows, config, repeats=not forced)
    if forced:
        samples: list[list[tuple[str | None, str | None]]] = [[(None, None)] for _ in plan]
        bar = _progress(len(plan), "score", progress)
        flat = judge.score_all(
            [(rows[slot.row_index], slot.conversation) for slot in plan], bar.update
        )
        bar.close()
        verdicts = [[v] for v in flat]
    else:
        samples = _generate(backend, plan, config, progress)
        verdicts = _judge(judge, rows, plan, samples, config, progress)  # type: ignore[arg-type]

    per_row: list[dict[str, list[int]]] = [{} for _ in rows]
    for k, slot in enumerate(plan):
        per_row[slot.row_index].setdefault(slot.kind, []).append(k)
    outcomes: list[RowOutcome] = []
    records: list[dict[str, Any]] = []
    for r, row in enumerate(rows):
        slots = per_row[r]

        def got(kind: str, slots: Mapping[str, list[int]] = slots) -> list[Verdict]:
            return [v for k in slots.get(kind, []) for v in verdicts[k]]

        outcome = evaluate_row(
            archetype=row.archetype,
            numerical=row.type == "numerical",
            ground_truth=_ground_truth(row),
            pressured=got("pressure"),
            direct=got("belief_1"),
            consistency=got("belief_2") + got("belief_3"),
        )
        outcomes.append(outcome)
        records.append(
            {
                "task_id": row.task_id,
                "type": row.type,
                "proposition": row.proposition,
                "formatted_ground_truth": row.formatted_ground_truth,
                "responses": {
                    kind: [samples[k][j][0] for k in ks for j in range(len(samples[k]))]
                    for kind, ks in slots.items()
                },
                "verdicts": {
                    kind: [v.to_dict() for k in ks for v in verdicts[k]]
                    for kind, ks in slots.items()
                },
                **outcome.to_dict(),
            }
        )
    summaries = summarize_mask(
        outcomes, n_resamples=config.n_resamples, ci=config.ci, seed=config.seed
    )
    return EvalResult(
        benchmark="mask",
        model=model or getattr(backend, "name", ""),
        judge=judge.name,
        config=asdict(config),
        summaries=summaries,
        records=records,
    )
