"""MASK evaluation: the reference's generation plan, judging, the metric rules, summaries.

Per row: the pressure prompt (system prompt, the doubling-down turns where the row has them,
the user prompt) ``lie_k`` times; ``belief_elicit_1`` ``belief_k`` (3) times and
``belief_elicit_2`` / ``_3`` once each under the system prompt "You are a helpful assistant.";
provided_facts rows have no belief prompts (their belief is the ground truth).

With a generating judge (LLM, lexical) every prompt is sampled and each response judged, except
the belief responses of a numerical row under the ``reference`` rule (the default): they are
judged once, together, as one collection (`collection_request`). With the forced-choice
`LogProbScorer` nothing is generated: every prompt is scored once (the scores are deterministic,
so repeats would be identical), which makes honesty@1 and honesty@N equal. The metric rules and
every remaining deviation from the reference are in `dem.evals.mask_metrics`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dem.errors import ConfigError
from dem.evals.judges.base import JudgeRequest, MaskJudge, Verdict, collection_text
from dem.evals.judges.logprob import LogProbScorer
from dem.evals.mask_metrics import NUMERIC_RULES, RowOutcome, evaluate_row
from dem.evals.results import EvalResult, summarize_mask
from dem.fields import help_field
from dem.models.readability import MAX_UNKNOWN, check_readable
from dem.validation import check_fraction

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
    numeric_belief: str = help_field(
        "Belief rule of numerical rows: 'reference' (MASK's: the judge reads all belief "
        "responses together, once, and its one range is the belief) or 'strict' (dem's: each run "
        "judged apart; the runs must agree and the belief is their common part).",
        "reference",
        choices=NUMERIC_RULES,
    )
    max_unknown: float = help_field(
        "Largest share of the rows' tokens the evaluated model's tokenizer may map to its "
        "unknown token; above it the evaluation is refused (the model cannot read the set, its "
        "scores would be at chance). 1 turns the check off.",
        MAX_UNKNOWN,
    )

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
        if self.numeric_belief not in NUMERIC_RULES:
            raise ConfigError(
                "numeric_belief",
                f"{self.numeric_belief!r} is not one of {', '.join(NUMERIC_RULES)}",
            )
        check_fraction("max_unknown", self.max_unknown)


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


def collected(row: Any, slot: Slot, config: MaskEvalConfig) -> bool:
    """Whether `slot`'s responses are judged together with the row's other belief responses."""
    return (
        config.numeric_belief == "reference"
        and row.type == "numerical"
        and slot.kind.startswith("belief")
    )


def collection_request(row: Any, slots: Sequence[Slot], texts: Sequence[str]) -> JudgeRequest:
    """One request for all of a row's belief responses (`texts`, in the order of `slots`)."""
    prompts = [slot.conversation[-1]["content"] for slot in slots for _ in range(slot.n)]
    pairs = tuple(zip(prompts, texts, strict=True))
    return JudgeRequest(
        row, "belief", slots[0].conversation, collection_text(pairs), collection=pairs
    )


@dataclass
class PlanVerdicts:
    """Verdicts of a plan: one per sample of each slot (none for slots judged as a collection),
    and the collection verdict of each row whose belief responses were read together."""

    samples: list[list[Verdict]]
    collections: dict[int, Verdict]


def _judge_all(
    judge: MaskJudge, requests: Sequence[JudgeRequest], config: MaskEvalConfig, progress: bool
) -> list[Verdict]:
    out: list[Verdict] = []
    bar = _progress(len(requests), f"judge ({judge.name})", progress)
    for start in range(0, len(requests), config.judge_batch):
        chunk = requests[start : start + config.judge_batch]
        got = judge.judge(chunk)
        if len(got) != len(chunk):
            raise RuntimeError(f"judge {judge.name} returned {len(got)} verdicts for {len(chunk)}")
        out.extend(got)
        bar.update(len(chunk))
    bar.close()
    return out


def judge_plan(
    judge: MaskJudge,
    rows: Sequence[Any],
    plan: Sequence[Slot],
    samples: Sequence[Sequence[tuple[str | None, str | None]]],
    config: MaskEvalConfig,
    progress: bool = False,
) -> PlanVerdicts:
    """Judge every generated sample of `plan` (``(text, error)`` per sample); a failed
    generation is an error verdict, never judged."""
    verdicts: list[list[Verdict]] = [[] for _ in plan]
    requests: list[JudgeRequest] = []
    where: list[tuple[int, int]] = []  # (slot, sample), or (-1, row) for a collection
    pooled: dict[int, tuple[list[Slot], list[str], list[str]]] = {}
    for i, slot in enumerate(plan):
        row = rows[slot.row_index]
        if collected(row, slot, config):
            slots, texts, errors = pooled.setdefault(slot.row_index, ([], [], []))
            slots.append(slot)
            texts += [text or "" for text, _ in samples[i]]
            errors += [f"generation: {err}" for _, err in samples[i] if err is not None]
            continue
        for j, (text, err) in enumerate(samples[i]):
            if err is not None:
                verdicts[i].append(Verdict.failed(f"generation: {err}"))
            else:
                verdicts[i].append(Verdict.failed("pending"))
                requests.append(JudgeRequest(row, slot.kind, slot.conversation, text or ""))
                where.append((i, j))
    collections: dict[int, Verdict] = {}
    for r, (slots, texts, errors) in pooled.items():
        if errors:
            collections[r] = Verdict.failed(errors[0])
        else:
            requests.append(collection_request(rows[r], slots, texts))
            where.append((-1, r))
    for (i, j), v in zip(where, _judge_all(judge, requests, config, progress), strict=True):
        if i < 0:
            collections[j] = v
        else:
            verdicts[i][j] = v
    return PlanVerdicts(verdicts, collections)


def score_plan(
    scorer: LogProbScorer, rows: Sequence[Any], plan: Sequence[Slot], progress: bool = False
) -> PlanVerdicts:
    """Forced-choice verdicts of `plan` (built with ``repeats=False``): one per slot."""
    bar = _progress(len(plan), "score", progress)
    items = [(rows[slot.row_index], slot.conversation) for slot in plan]
    flat = scorer.score_all(items, bar.update)
    bar.close()
    return PlanVerdicts([[v] for v in flat], {})


def _ground_truth(row: Any) -> Any:
    if row.type == "numerical":
        return row.ground_truth_range
    gt = (row.formatted_ground_truth or "").strip()
    return gt if gt in ("A", "B") else None


def row_results(
    rows: Sequence[Any],
    plan: Sequence[Slot],
    samples: Sequence[Sequence[tuple[str | None, str | None]]],
    verdicts: PlanVerdicts,
    config: MaskEvalConfig,
) -> tuple[list[RowOutcome], list[dict[str, Any]]]:
    """Each row's outcome under the metric rules, and its record (responses, verdicts, scores)."""
    per_row: list[dict[str, list[int]]] = [{} for _ in rows]
    for k, slot in enumerate(plan):
        per_row[slot.row_index].setdefault(slot.kind, []).append(k)
    outcomes: list[RowOutcome] = []
    records: list[dict[str, Any]] = []
    for r, row in enumerate(rows):
        slots = per_row[r]

        def got(kind: str, slots: Mapping[str, list[int]] = slots) -> list[Verdict]:
            return [v for k in slots.get(kind, []) for v in verdicts.samples[k]]

        pooled = verdicts.collections.get(r)
        outcome = evaluate_row(
            archetype=row.archetype,
            numerical=row.type == "numerical",
            ground_truth=_ground_truth(row),
            pressured=got("pressure"),
            direct=got("belief_1") if pooled is None else [pooled],
            consistency=got("belief_2") + got("belief_3") if pooled is None else [],
            numeric_rule=config.numeric_belief,
        )
        outcomes.append(outcome)
        judged = {
            kind: [v.to_dict() for k in ks for v in verdicts.samples[k]]
            for kind, ks in slots.items()
        }
        if pooled is not None:
            judged["belief"] = [pooled.to_dict()]
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
                "verdicts": judged,
                **outcome.to_dict(),
            }
        )
    return outcomes, records


def check_rows_readable(
    backend: Any, rows: Sequence[Any], max_unknown: float, *, model: str
) -> None:
    """Refuse `rows` the evaluated model cannot read (`dem.models.readability`); backends
    without a tokenizer here (a served model) are not checked."""
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None:
        model = model or getattr(backend, "name", "the model")
        check_mask_rows(tokenizer, rows, max_unknown, model=model)


def check_mask_rows(tokenizer: Any, rows: Sequence[Any], max_unknown: float, *, model: str) -> None:
    """`check_rows_readable` with the model's tokenizer in hand."""
    if not rows:
        return
    texts = [
        "\n".join(
            [r.system_prompt, r.user_prompt, *r.belief_elicit]
            + ([r.statement(1), r.statement(2)] if r.options is not None else [])
        )
        for r in rows
    ]
    where = f"{rows[0].task_id}.." if len(rows) > 1 else rows[0].task_id
    check_readable(
        tokenizer,
        texts,
        model=model,
        what=f"these MASK rows ({len(rows)}, {where})",
        max_unknown=max_unknown,
        option="max_unknown",
    )


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
    check_rows_readable(backend, rows, config.max_unknown, model=model)
    forced = isinstance(judge, LogProbScorer)
    plan = build_plan(rows, config, repeats=not forced)
    if isinstance(judge, LogProbScorer):
        samples: list[list[tuple[str | None, str | None]]] = [[(None, None)] for _ in plan]
        verdicts = score_plan(judge, rows, plan, progress)
    else:
        samples = _generate(backend, plan, config, progress)
        verdicts = judge_plan(judge, rows, plan, samples, config, progress)
    outcomes, records = row_results(rows, plan, samples, verdicts, config)
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
