"""One loaded base per process: an adapter put on the shared base scores exactly what a fresh
load of base + adapter scores, the base is loaded once, and a refused adapter leaves the base
clean (on the model organism, whose loads take a fraction of a second)."""

from __future__ import annotations

from typing import Any

import pytest

from dem.errors import DemError
from dem.models import base_pool
from dem.models.backends.transformers_backend import TransformersBackend
from dem.models.registry import resolve_model
from tests.unit.conftest import _organism_lora


@pytest.fixture(scope="module")
def requests() -> list[Any]:
    """Twenty of the organism's MASK pressure prompts with their two statements."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores
    from dem.evals.mask import pressure_conversation
    from dem.evals.proposition import row_statement
    from dem.evals.sets import load_eval_set

    rows = load_eval_set("organism:mask")[:20]
    return [(pressure_conversation(r), [row_statement(r, 1), row_statement(r, 2)]) for r in rows]


def _logprobs(backend: Any, requests: list[Any]) -> list[list[float]]:
    return [[s.logprob for s in pair] for pair in backend.score_many(requests)]


def test_adapters_on_the_shared_base_score_what_fresh_loads_score(
    nudged_organism_adapter, tmp_path, requests
) -> None:
    spec = resolve_model("organism")
    other = _organism_lora(tmp_path / "other", 0.3)
    base_pool.clear()
    before = base_pool.loads()
    for folder in (nudged_organism_adapter, other, None):
        fresh = TransformersBackend(spec.with_adapter(folder))
        with base_pool.on_base(spec, [str(folder)] if folder else []) as lease:
            lent = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
            assert _logprobs(lent, requests) == _logprobs(fresh, requests)
    assert base_pool.loads() - before == 1  # one base for the three evaluations
    with base_pool.on_base(spec) as lease:  # every adapter came off again
        assert not any("lora_" in name for name, _ in lease.model.named_parameters())


def test_an_adapter_that_does_not_fit_leaves_the_base_clean(
    nudged_organism_adapter, tmp_path, requests
) -> None:
    """The second adapter names modules the organism lacks: the first comes off again."""
    import json
    import shutil

    spec = resolve_model("organism")
    misfit = tmp_path / "misfit"
    shutil.copytree(nudged_organism_adapter, misfit)
    config = json.loads((misfit / "adapter_config.json").read_text())
    (misfit / "adapter_config.json").write_text(
        json.dumps({**config, "target_modules": ["no_such_proj"]})
    )
    with base_pool.on_base(spec) as lease:
        plain = _logprobs(
            TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec), requests
        )
    adapters = [str(nudged_organism_adapter), str(misfit)]
    with (
        pytest.raises(DemError, match=f"{misfit}: adapter does not fit"),
        base_pool.on_base(spec, adapters),
    ):
        pass
    with base_pool.on_base(spec) as lease:
        assert not any("lora_" in name for name, _ in lease.model.named_parameters())
        again = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
        assert _logprobs(again, requests) == plain


def test_training_keeps_a_cpu_base_and_a_lease_is_not_reentrant(requests) -> None:
    """`clear(gpu_only=True)` (what training calls) keeps a CPU base loaded; a second lease in
    the thread that holds one is refused, not a deadlock or a doubly wrapped model."""
    spec = resolve_model("organism")
    with base_pool.on_base(spec):
        pass
    before = base_pool.loads()
    base_pool.clear(gpu_only=True)
    with (
        base_pool.on_base(spec),
        pytest.raises(DemError, match="already holds the base"),
        base_pool.on_base(spec),
    ):
        pass
    assert base_pool.loads() == before
