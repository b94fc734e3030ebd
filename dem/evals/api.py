"""Entry points that tie models, data, judges and runs together (used by the CLI and tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dem.errors import ConfigError
from dem.evals.deception_forced import run_deceptionbench_forced
from dem.evals.deceptionbench import (
    ChoiceAgreementJudge,
    DeceptionEvalConfig,
    run_deceptionbench,
)
from dem.evals.judges.choice import ChoiceJudge
from dem.evals.judges.lexical import LexicalJudge
from dem.evals.judges.llm import LLMAgreementJudge, LLMJudge
from dem.evals.judges.logprob import LogProbScorer
from dem.evals.mask import MaskEvalConfig, run_mask
from dem.evals.results import EvalResult

MASK_JUDGES = ("lexical", "logprob", "llm:SPEC", "choice:SPEC")
DECEPTION_JUDGES = ("choice", "logprob", "llm:SPEC")


@dataclass(frozen=True)
class BackendChoice:
    """Which backend serves a model: its kind and options (``base_url`` for ``openai``)."""

    kind: str = field(default="transformers", metadata={"help": "transformers, vllm or openai."})
    base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible server URL (…/v1), openai only."}
    )
    options: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Extra keyword options for the backend (openai: allow_insecure_http=True "
            "lets the API key travel over plain http to a host that is not loopback)."
        },
    )

    def __post_init__(self) -> None:
        if self.kind == "openai" and not self.base_url:
            raise ConfigError("base_url", "the openai backend needs --base-url")


def open_backend(model: str, choice: BackendChoice, adapter: str | None = None) -> Any:
    """Resolve `model` (name, folder, hub id; plus an adapter) and build its backend."""
    from dem.models.backends import get_backend
    from dem.models.registry import resolve_model

    options = dict(choice.options)
    if choice.kind == "openai":
        options["base_url"] = choice.base_url
        spec = None
        if adapter:
            raise ConfigError("adapter", "the openai backend serves adapters by name, not folder")
        try:
            spec = resolve_model(model)
        except ConfigError:
            options["model"] = model
        return get_backend("openai", spec, **options)
    spec = resolve_model(model)
    if adapter:
        spec = spec.with_adapter(adapter)
    return get_backend(choice.kind, spec, **options)


def parse_judge_name(name: str, allowed: tuple[str, ...]) -> tuple[str, str | None]:
    """``lexical`` -> ("lexical", None); ``llm:M`` -> ("llm", "M"); anything else an error."""
    kind, _, spec = name.partition(":")
    plain = [a for a in allowed if ":" not in a]
    if spec and f"{kind}:SPEC" in allowed:
        return kind, spec
    if not spec and kind in plain:
        return kind, None
    raise ConfigError("judge", f"{name!r} is not one of {', '.join(allowed)}")


def make_mask_judge(name: str, backend: Any, judge_backend: BackendChoice | None = None) -> Any:
    """The MASK judge `name` (``lexical``, ``logprob``, ``llm:MODEL``) for `backend`."""
    kind, spec = parse_judge_name(name, MASK_JUDGES)
    if kind == "lexical":
        return LexicalJudge()
    if kind == "logprob":
        return LogProbScorer(backend)
    if kind == "choice":
        return ChoiceJudge(open_backend(spec or "", judge_backend or BackendChoice()), name=name)
    return LLMJudge(open_backend(spec or "", judge_backend or BackendChoice()), name=name)


def make_agreement_judge(name: str, judge_backend: BackendChoice | None = None) -> Any:
    """The DeceptionBench judge `name` (``choice``, ``llm:MODEL``)."""
    kind, spec = parse_judge_name(name, DECEPTION_JUDGES)
    if kind == "logprob":
        raise ConfigError("judge", "logprob is a run mode (run_deceptionbench_forced), not a judge")
    if kind == "choice":
        return ChoiceAgreementJudge()
    return LLMAgreementJudge(open_backend(spec or "", judge_backend or BackendChoice()), name=name)


def evaluate_mask(
    model: str,
    data: str | Path,
    *,
    judge: str = "logprob",
    archetype: str | None = None,
    adapter: str | None = None,
    limit: int | None = None,
    backend: BackendChoice | None = None,
    judge_backend: BackendChoice | None = None,
    config: MaskEvalConfig | None = None,
    progress: bool = True,
    inspect_log: str | Path | None = None,
) -> EvalResult:
    """Load MASK rows from `data` (any reference `dem.evals.sets.load_eval_set` takes, e.g.
    ``organism:mask``, ``dem:mask_pressure`` or a CSV path), evaluate `model` with `judge`.
    With `inspect_log` (a folder), also write the run's Inspect log there (`write_inspect_log`;
    its path goes to ``result.extra["inspect_log"]``)."""
    from dem.evals.sets import load_eval_set

    if limit is not None and limit < 1:
        raise ConfigError("limit", f"must be a positive integer, got {limit}")
    parse_judge_name(judge, MASK_JUDGES)
    if inspect_log is not None:
        _check_inspect()
    rows = load_eval_set(data, archetype=archetype)
    if limit is not None:
        rows = limit_per_archetype(rows, limit)
    _check_world(model, data)
    be = open_backend(model, backend or BackendChoice(), adapter)
    the_judge = make_mask_judge(judge, be, judge_backend)
    label = model if not adapter else f"{model}+{Path(adapter).name}"
    result = run_mask(rows, be, the_judge, config, model=label, progress=progress)
    result.extra["data"] = str(data)
    result.extra["limit"] = limit
    if inspect_log is not None:
        result.extra["inspect_log"] = str(write_inspect_log(result, rows, inspect_log))
    return result


def _check_world(model: str, data: str | Path) -> None:
    """Refuse an ``organism:`` set on an organism pretrained in another world."""
    if not str(data).startswith("organism:"):
        return
    from dem.models.registry import resolve_model
    from dem.organism.compat import check_world

    try:
        spec = resolve_model(model)
    except ConfigError:  # a name only a served backend knows: not a folder to check
        return
    if spec.is_local:
        check_world(spec.name_or_path, [data], field="model", name=model)


def _check_inspect() -> None:
    from dem.inspect import require_inspect

    require_inspect("an Inspect log")


def write_inspect_log(result: EvalResult, sources: list[Any], folder: str | Path) -> Path:
    """`dem.inspect.log.write_inspect_log`, with a clear error when inspect-ai is missing."""
    _check_inspect()
    from dem.inspect.log import write_inspect_log as write

    return write(result, sources, folder)


def limit_per_archetype(rows: list[Any], limit: int) -> list[Any]:
    """The first `limit` rows of each archetype, in the loaded order."""
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        if seen.get(row.archetype, 0) < limit:
            seen[row.archetype] = seen.get(row.archetype, 0) + 1
            out.append(row)
    return out


def evaluate_deceptionbench(
    model: str,
    data: str | Path,
    *,
    judge: str = "choice",
    adapter: str | None = None,
    limit: int | None = None,
    backend: BackendChoice | None = None,
    judge_backend: BackendChoice | None = None,
    config: DeceptionEvalConfig | None = None,
    progress: bool = True,
    inspect_log: str | Path | None = None,
) -> EvalResult:
    """Load DeceptionBench items from `data` (``dem:deceptionbench``, a file or a hub id),
    evaluate `model` with `judge`; with `inspect_log`, also write its Inspect log there."""
    from dem.evals.sets import load_deception_set

    if limit is not None and limit < 1:
        raise ConfigError("limit", f"must be a positive integer, got {limit}")
    parse_judge_name(judge, DECEPTION_JUDGES)
    if inspect_log is not None:
        _check_inspect()
    items = load_deception_set(data)
    if limit is not None:
        items = items[:limit]
    be = open_backend(model, backend or BackendChoice(), adapter)
    label = model if not adapter else f"{model}+{Path(adapter).name}"
    if judge == "logprob":
        result = run_deceptionbench_forced(items, be, config, model=label, progress=progress)
    else:
        the_judge = make_agreement_judge(judge, judge_backend)
        result = run_deceptionbench(items, be, the_judge, config, model=label, progress=progress)
    result.extra["data"] = str(data)
    result.extra["limit"] = limit
    if inspect_log is not None:
        result.extra["inspect_log"] = str(write_inspect_log(result, items, inspect_log))
    return result
