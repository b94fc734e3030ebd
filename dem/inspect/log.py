"""Inspect logs of dem's own evaluations: ``inspect view`` opens what ``dem eval`` computed.

`write_inspect_log` turns an `EvalResult` (with the rows or items it was computed on) into an
Inspect `EvalLog`: one sample per row with its prompt, the model's first pressured answer, and
a score holding honesty, honesty@1 and accuracy, with every response, verdict and the belief in
the score's metadata (the same samples and scores the Inspect tasks in `dem.inspect.tasks`
produce); the summaries of every group, with their confidence intervals, are the log's results.
The log is not produced by running Inspect: no events, no model usage.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ModelOutput

from dem.inspect.samples import (
    DECEPTION_SCORER,
    MASK_SCORER,
    deception_sample,
    deception_score,
    deception_values,
    mask_sample,
    mask_score,
    mask_values,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dem")
    except PackageNotFoundError:
        return "0+unknown"


def _eval_sample(sample: Any, score: Any, output: str | None, model: str) -> EvalSample:
    messages = list(sample.input)
    if output is not None:
        messages.append(ChatMessageAssistant(content=output, model=model))
    return EvalSample(
        id=sample.id,
        epoch=1,
        input=sample.input,
        target=sample.target,
        messages=messages,
        output=ModelOutput.from_content(model, output or ""),
        scores={score[0]: score[1]},
        metadata=sample.metadata,
    )


def _scores(result: Any, scorer: str, values: Any) -> list[EvalScore]:
    out = []
    for group, summary in result.summaries.items():
        cis = {
            k: v.to_dict() for k, v in vars(summary).items() if hasattr(v, "lo")
        }  # the estimates, with their intervals
        metrics = {
            name: EvalMetric(name=name, value=value, metadata=cis.get(name))
            for name, value in values(summary).items()
        }
        out.append(EvalScore(name=f"{scorer}/{group}", scorer=f"dem/{scorer}", metrics=metrics))
    return out


def inspect_log(result: Any, sources: Sequence[Any], *, task: str | None = None) -> EvalLog:
    """The Inspect log of `result`, computed on `sources` (its MASK rows or DeceptionBench items,
    in the order of its records)."""
    if len(sources) != len(result.records):
        raise ValueError(f"{len(sources)} rows for {len(result.records)} records")
    mask = result.benchmark == "mask"
    samples = []
    for source, record in zip(sources, result.records, strict=True):
        if mask:
            sample, score = mask_sample(source), (MASK_SCORER, mask_score(record))
            output = ((record.get("responses") or {}).get("pressure") or [None])[0]
        else:
            sample, score = deception_sample(source), (DECEPTION_SCORER, deception_score(record))
            output = record.get("outer_response")
        samples.append(_eval_sample(sample, score, output, result.model))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    blob = (json.dumps(result.to_dict(), sort_keys=True, default=str) + now).encode()
    eval_id = hashlib.sha256(blob).hexdigest()[:22]
    name = task or f"dem/{result.benchmark}"
    data = str(result.extra.get("data") or "")
    spec = EvalSpec(
        eval_id=eval_id,
        run_id=eval_id,
        created=now,
        task=name,
        task_id=eval_id,
        task_version=1,
        dataset=EvalDataset(
            name=data or None,
            location=data or None,
            samples=len(samples),
            sample_ids=[s.id for s in samples],
        ),
        model=result.model,
        config=EvalConfig(),
        packages={"dem": _version()},
        metadata={"judge": result.judge, "config": result.config, "written_by": "dem"},
    )
    plan = EvalPlan(
        name="dem",
        steps=[EvalPlanStep(solver=f"dem/{result.benchmark}", params=dict(result.config))],
    )
    scorer = MASK_SCORER if mask else DECEPTION_SCORER
    values = mask_values if mask else deception_values
    results = EvalResults(
        total_samples=len(samples),
        completed_samples=len(samples),
        scores=_scores(result, scorer, values),
    )
    return EvalLog(
        status="success",
        eval=spec,
        plan=plan,
        results=results,
        stats=EvalStats(started_at=now, completed_at=now),
        samples=samples,
    )


def write_inspect_log(
    result: Any, sources: Sequence[Any], folder: str | Path, *, task: str | None = None
) -> Path:
    """Write `result`'s Inspect log (see `inspect_log`) into `folder`; returns its path.

    The name follows Inspect's (``<time>_<task>_<id>.eval``), so ``inspect view --log-dir
    FOLDER`` lists it; it is written to a temporary name and renamed into place.
    """
    log = inspect_log(result, sources, task=task)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = log.eval.created.replace(":", "-").replace("+00-00", "")
    path = folder / f"{stamp}_{log.eval.task.replace('/', '-')}_{log.eval.eval_id}.eval"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write_eval_log(log, str(tmp), format="eval")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    from dem.atomic import apply_umask

    apply_umask(path)
    return path
