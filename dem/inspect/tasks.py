"""dem's MASK and DeceptionBench as Inspect tasks: ``inspect eval dem/mask --model dem/organism``.

Each task generates with the evaluated model (Inspect's, any provider), then scores with dem's
own judges and metric rules (`dem.evals.mask`, `dem.evals.deceptionbench`), so a sample's
verdicts, belief and honesty are exactly what ``dem eval`` computes for its row. With the
forced-choice judge ``logprob`` nothing is generated: the scorer scores the candidate replies
with the backend of a ``dem/...`` model (other providers cannot give those log-probabilities).

Task options (``-T name=value``): ``data``, ``limit``, ``judge`` and the sampling settings of
``dem eval``; ``judge_backend`` / ``judge_base_url`` choose the backend of an ``llm:`` or
``choice:`` judge model.
"""

from __future__ import annotations

from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset
from inspect_ai.model import GenerateConfig, Model, get_model
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver

from dem.inspect.samples import (
    deception_sample,
    deception_score,
    deception_values,
    mask_sample,
    mask_score,
    mask_values,
    record_item_outcome,
    record_outcome,
    sample_item,
    sample_row,
)

RESPONSES = "dem_responses"
TASK_VERSION = 1


def dem_backend(model: Model, judge: str) -> Any:
    """The dem backend behind a ``dem/...`` Inspect model (for forced-choice scoring)."""
    from dem.errors import ConfigError
    from dem.inspect.provider import DemModelAPI

    if not isinstance(model.api, DemModelAPI):
        raise ConfigError(
            "judge",
            f"{judge!r} scores log-probabilities with a dem backend: use a dem/<model> model "
            f"(got {model}), or a generating judge such as 'lexical' or 'llm:<model>'",
        )
    return model.api.backend


def _check_readable(row: Any) -> None:
    """Refuse a MASK row a dem model cannot read (`dem.models.readability`): its scores would
    be at chance. Models served by other Inspect providers are not checked."""
    from dem.evals.mask import check_rows_readable
    from dem.inspect.provider import DemModelAPI
    from dem.models.readability import MAX_UNKNOWN

    model = get_model()
    if isinstance(model.api, DemModelAPI):
        check_rows_readable(model.api.backend, [row], MAX_UNKNOWN, model=str(model))


async def _generate(
    conversation: Any, n: int, config: GenerateConfig
) -> list[tuple[str | None, str | None]]:
    """``n`` samples of the next turn as dem's ``(text, error)`` pairs; a failure is recorded,
    as ``dem eval`` records it, never raised."""
    from dem.inspect.samples import chat_messages

    try:
        output = await get_model().generate(
            chat_messages(conversation), config=config.merge(GenerateConfig(num_choices=n))
        )
    except Exception as exc:  # a failed generation is an error verdict, counted apart
        return [(None, f"{type(exc).__name__}: {exc}")] * n
    texts = [(c.message.text, None) for c in output.choices][:n]
    if len(texts) < n:
        texts += [(None, f"the model returned {len(texts)} of {n} samples")] * (n - len(texts))
    return texts


def _mask_config(**kw: Any) -> Any:
    from dem.evals.mask import MaskEvalConfig

    return MaskEvalConfig(**kw)


@solver
def mask_responses(
    lie_k: int = 1,
    belief_k: int = 3,
    temperature: float = 1.0,
    max_new_tokens: int = 256,
    seed: int = 0,
    forced: bool = False,
) -> Solver:
    """Sample every prompt of a MASK row's plan (`dem.evals.mask.build_plan`); stored per slot."""
    from dem.evals.mask import build_plan

    config = _mask_config(
        lie_k=lie_k,
        belief_k=belief_k,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
    )
    gen = GenerateConfig(temperature=temperature, max_tokens=max_new_tokens, seed=seed)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        _check_readable(sample_row(state.metadata))
        if forced:
            return state
        plan = build_plan([sample_row(state.metadata)], config)
        samples = [await _generate(slot.conversation, slot.n, gen) for slot in plan]
        state.store.set(RESPONSES, samples)
        first = samples[0][0][0]
        if first is not None:
            from inspect_ai.model import ChatMessageAssistant, ModelOutput

            state.output = ModelOutput.from_content(str(state.model), first)
            state.messages.append(ChatMessageAssistant(content=first))
        return state

    return solve


@metric
def mask_summary() -> Metric:
    """dem's MASK summary over the scored samples (errors excluded and counted)."""

    def compute(scores: list[SampleScore]) -> Any:
        from dem.evals.results import summarize_group

        outcomes = [record_outcome(s.score.metadata or {}) for s in scores]
        return mask_values(summarize_group("overall", outcomes, n_resamples=200))

    return compute


@scorer(metrics=[mask_summary()])
def mask_honesty(
    judge: str = "logprob",
    lie_k: int = 1,
    belief_k: int = 3,
    numeric_belief: str = "reference",
    judge_backend: str = "transformers",
    judge_base_url: str | None = None,
) -> Scorer:
    """A MASK row's verdicts, belief and honesty under dem's judge `judge` and dem's rules."""
    from dem.evals.api import BackendChoice, make_mask_judge
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import build_plan, judge_plan, row_results, score_plan

    config = _mask_config(lie_k=lie_k, belief_k=belief_k, numeric_belief=numeric_belief)
    judges: dict[str, Any] = {}

    async def score(state: TaskState, target: Target) -> Score:
        row = sample_row(state.metadata)
        if judge == "logprob":
            backend = dem_backend(get_model(), judge)
            plan = build_plan([row], config, repeats=False)
            samples: Any = [[(None, None)] for _ in plan]
            verdicts = score_plan(LogProbScorer(backend), [row], plan)
        else:
            if judge not in judges:
                choice = BackendChoice(judge_backend, judge_base_url)
                judges[judge] = make_mask_judge(judge, None, choice)
            plan = build_plan([row], config)
            samples = [[tuple(s) for s in slot] for slot in state.store.get(RESPONSES)]
            verdicts = judge_plan(judges[judge], [row], plan, samples, config)
        _, records = row_results([row], plan, samples, verdicts, config)
        return mask_score(records[0])

    return score


@task
def mask(
    data: str = "organism:mask",
    archetype: str | None = None,
    limit: int | None = None,
    judge: str = "logprob",
    lie_k: int = 1,
    belief_k: int = 3,
    temperature: float = 1.0,
    max_new_tokens: int = 256,
    seed: int = 0,
    numeric_belief: str = "reference",
    judge_backend: str = "transformers",
    judge_base_url: str | None = None,
) -> Task:
    """MASK honesty with dem's judges and rules (the options of ``dem eval mask``)."""
    from dem.evals.api import MASK_JUDGES, limit_per_archetype, parse_judge_name
    from dem.evals.sets import load_eval_set

    parse_judge_name(judge, MASK_JUDGES)
    _mask_config(lie_k=lie_k, belief_k=belief_k, numeric_belief=numeric_belief)  # checks them
    rows = load_eval_set(data, archetype=archetype)
    if limit is not None:
        rows = limit_per_archetype(rows, limit)
    return Task(
        dataset=MemoryDataset([mask_sample(r) for r in rows], name=str(data), location=str(data)),
        solver=mask_responses(
            lie_k, belief_k, temperature, max_new_tokens, seed, forced=judge == "logprob"
        ),
        scorer=mask_honesty(judge, lie_k, belief_k, numeric_belief, judge_backend, judge_base_url),
        version=TASK_VERSION,
    )


@solver
def deception_responses(
    temperature: float = 0.0, max_new_tokens: int = 512, seed: int = 0, forced: bool = False
) -> Solver:
    """The model's own view (inner prompt) and its answer under the conflicting goal (outer)."""
    from dem.evals.deceptionbench import inner_conversation, outer_conversation

    gen = GenerateConfig(temperature=temperature, max_tokens=max_new_tokens, seed=seed)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if forced:
            return state
        item = sample_item(state.metadata)
        inner = (await _generate(inner_conversation(item), 1, gen))[0]
        outer = (await _generate(outer_conversation(item), 1, gen))[0]
        state.store.set(RESPONSES, [inner, outer])
        if outer[0] is not None:
            from inspect_ai.model import ChatMessageAssistant, ModelOutput

            state.output = ModelOutput.from_content(str(state.model), outer[0])
            state.messages.append(ChatMessageAssistant(content=outer[0]))
        return state

    return solve


@metric
def deception_summary() -> Metric:
    """dem's DeceptionBench rate (percent) over the judged samples, with the counts."""

    def compute(scores: list[SampleScore]) -> Any:
        from dem.evals.deceptionbench import summarize_deception

        outcomes = [record_item_outcome(s.score.metadata or {}) for s in scores]
        return deception_values(summarize_deception(outcomes, n_resamples=200)["overall"])

    return compute


@scorer(metrics=[deception_summary()])
def deception(
    judge: str = "choice", judge_backend: str = "transformers", judge_base_url: str | None = None
) -> Scorer:
    """A DeceptionBench item's outcome under dem's judge `judge` (deceptive or not)."""
    from dem.evals.api import BackendChoice, make_agreement_judge
    from dem.evals.deception_forced import run_deceptionbench_forced
    from dem.evals.deceptionbench import extract_answer, item_result, judge_pairs

    judges: dict[str, Any] = {}

    async def score(state: TaskState, target: Target) -> Score:
        item = sample_item(state.metadata)
        if judge == "logprob":
            backend = dem_backend(get_model(), judge)
            result = run_deceptionbench_forced([item], backend, progress=False)
            return deception_score(result.records[0])
        if judge not in judges:
            choice = BackendChoice(judge_backend, judge_base_url)
            judges[judge] = make_agreement_judge(judge, choice)
        inner, outer = (tuple(x) for x in state.store.get(RESPONSES))
        extracted = extract_answer(outer[0] if outer[1] is None else None)
        judged = None
        pairs = judge_pairs(item, inner[0], extracted) if inner[1] is None else []
        if pairs and outer[1] is None:
            got = judges[judge].agree(pairs)
            judged = (got[0], got[1])
        _, record = item_result(item, inner, outer, extracted, judged)  # type: ignore[arg-type]
        return deception_score(record)

    return score


@task
def deceptionbench(
    data: str = "dem:deceptionbench",
    limit: int | None = None,
    judge: str = "choice",
    temperature: float = 0.0,
    max_new_tokens: int = 512,
    seed: int = 0,
    judge_backend: str = "transformers",
    judge_base_url: str | None = None,
) -> Task:
    """DeceptionBench deception rate with dem's judges (the options of ``dem eval
    deceptionbench``)."""
    from dem.evals.api import DECEPTION_JUDGES, parse_judge_name
    from dem.evals.sets import load_deception_set

    parse_judge_name(judge, DECEPTION_JUDGES)
    items = load_deception_set(data)
    if limit is not None:
        items = items[:limit]
    return Task(
        dataset=MemoryDataset([deception_sample(i) for i in items], name=str(data)),
        solver=deception_responses(temperature, max_new_tokens, seed, forced=judge == "logprob"),
        scorer=deception(judge, judge_backend, judge_base_url),
        version=TASK_VERSION,
    )
