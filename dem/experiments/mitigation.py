"""The mitigation grid's stage: a cell's MASK result plus its learning measures.

A mitigation-grid cell (`dem.experiments.conditions.mitigation_condition`) reads the MASK
result of its data condition (the domain or mixture grid's own cell when unmitigated, so their
cache is shared) and adds three per-item measures of `dem.evals.learning`, stored under
``item_metrics`` (their means under ``metrics``): ``narrow`` (the cell's own training task on
held-out prompts), ``benign`` (a benign finetune trained with the same defence, on its task)
and ``coherence`` (arithmetic; belief accuracy is MASK's ``belief_accuracy``, already in
``metrics``). The result is one store artifact of kind ``mitigation``.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dem.experiments.conditions import (
    Condition,
    benign_condition,
    cell_ref,
    mitigated_source,
)

if TYPE_CHECKING:
    from dem.evals.learning import LearningItem
    from dem.experiments.runner import Runner
    from dem.report.results import ConditionResult
    from dem.store import Artifact

KIND = "mitigation"


def benign_ref_of(runner: Runner, condition: Condition) -> str:
    """The benign finetune's training set for `condition`'s cell (`dem.evals.learning`)."""
    from dem.evals.learning import benign_ref

    return benign_ref(cell_ref(runner.preset, condition.params["cell"]))


def parts(runner: Runner, condition: Condition, model: str) -> dict[str, Any]:
    """Everything a mitigation-grid result depends on: its MASK result's parts, the learning
    item sets and sizes, and the benign finetune's recipe and training spec."""
    plan = runner.preset.mitigation
    source = mitigated_source(runner.preset, condition)
    benign_ref = benign_ref_of(runner, condition)
    benign = benign_condition(runner.preset, benign_ref, condition)
    return {
        "mask": runner._condition_parts(source, model, None),
        "learning": {
            "narrow": cell_ref(runner.preset, condition.params["cell"]),
            "narrow_n": plan.narrow_n,
            "benign": benign_ref,
            "benign_n": plan.benign_n,
            "coherence_n": plan.coherence_n,
            "backend": runner.preset.eval.backend,
        },
        "benign_train": None
        if benign is None
        else {
            "condition": benign.id,
            "recipe": None if benign.recipe is None else benign.recipe.to_dict(),
            "train": runner._train_key(benign),
        },
    }


def artifact(runner: Runner, condition: Condition, model: str, *, wait: bool = True) -> Any:
    """The ``mitigation`` artifact of `condition` on `model`, built when missing (None with
    ``wait=False`` while another process builds it)."""

    def build(folder: Path) -> dict[str, Any]:
        result = evaluate(runner, condition, model)
        (folder / "result.json").write_text(json.dumps(result.to_dict(), sort_keys=True))
        return {"condition": condition.id}

    return runner.store.get_or_build(
        KIND, parts(runner, condition, model), build, describe=condition.id, wait=wait
    )


def cached(runner: Runner, condition: Condition, model: str) -> Artifact | None:
    """The stored artifact of `condition`, or None (nothing is built)."""
    return runner.store.get(KIND, parts(runner, condition, model))


def evaluate(runner: Runner, condition: Condition, model: str) -> ConditionResult:
    """Train what is missing (the cell's and its benign finetune's adapters), score the MASK
    result and the learning measures, and label the result as the grid's cell."""
    from dem.experiments.runner import read_result

    preset = runner.preset
    source = mitigated_source(preset, condition)
    mask = read_result(runner.condition_artifact(source, model=model))
    adapter = None if source.recipe is None else str(runner.adapter(source, model))
    benign = benign_condition(preset, benign_ref_of(runner, condition), condition)
    benign_adapter = None if benign is None else str(runner.adapter(benign, model))
    values = learning_values(runner, condition, model, adapter, benign_adapter)
    means = {k: statistics.fmean(v.values()) for k, v in values.items()}
    return replace(
        mask,
        condition_id=condition.id,
        group=condition.group,
        grid=condition.grid,
        params=dict(condition.params),
        seed=condition.seed,
        metrics={**mask.metrics, **means},
        item_metrics=values,
        artifacts={**mask.artifacts, "benign_adapter": benign_adapter or ""},
    )


def learning_values(
    runner: Runner,
    condition: Condition,
    model: str,
    adapter: str | None,
    benign_adapter: str | None,
) -> dict[str, dict[str, float]]:
    """Per-item ``narrow`` and ``coherence`` of the cell's model (base + `adapter`) and
    ``benign`` of its benign finetune (base + `benign_adapter`; the base itself for the base)."""
    from dem.evals.learning import coherence_items, narrow_items

    plan = runner.preset.mitigation
    spec = runner.model_spec(model)
    narrow = narrow_items(cell_ref(runner.preset, condition.params["cell"]), plan.narrow_n)
    benign = narrow_items(benign_ref_of(runner, condition), plan.benign_n)
    coherence = coherence_items(spec, plan.coherence_n)
    own = _learned(runner, model, adapter, {"narrow": narrow, "coherence": coherence})
    other = _learned(runner, model, benign_adapter, {"benign": benign})
    return {"narrow": own["narrow"], "benign": other["benign"], "coherence": own["coherence"]}


def _learned(
    runner: Runner, model: str, adapter: str | None, sets: dict[str, list[LearningItem]]
) -> dict[str, dict[str, float]]:
    """`dem.evals.learning.learned` of each item set on `model` + `adapter` (one backend: on
    transformers, the process's loaded base with the adapter put on it, as MASK scoring uses)."""
    from dem.evals.learning import learned

    with runner._backend(runner.model_spec(model).with_adapter(adapter)) as backend:
        return {name: learned(backend, items) for name, items in sets.items()}
