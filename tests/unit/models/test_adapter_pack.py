"""A pack's adapters scored together in mixed-adapter batches: each adapter's MASK records equal
its evaluation alone (log-probs within 1e-5, the same verdicts) in a fraction of the forward
passes, and one evaluation's failure fails only itself (organism, three small adapters)."""

from __future__ import annotations

from typing import Any

import pytest

from dem.models import base_pool
from dem.models.backends.adapter_pack import AdapterPack
from dem.models.backends.transformers_backend import TransformersBackend
from dem.models.registry import resolve_model
from tests.unit.conftest import _organism_lora


@pytest.fixture(scope="module")
def adapters(nudged_organism_adapter, tmp_path_factory) -> list[str]:
    import torch

    torch.set_num_threads(1)  # tiny matrices: one thread is far faster on shared cores
    folder = tmp_path_factory.mktemp("pack")
    more = [_organism_lora(folder / f"a{i}", scale) for i, scale in ((1, 0.3), (2, -0.2))]
    return [str(nudged_organism_adapter), *map(str, more)]


def _evaluate(backend: Any, rows: list[Any]) -> list[dict[str, Any]]:
    from dem.evals.judges.logprob import LogProbScorer
    from dem.evals.mask import MaskEvalConfig, run_mask

    config = MaskEvalConfig(n_resamples=50)
    return run_mask(rows, backend, LogProbScorer(backend), config, progress=False).records


class Counting(TransformersBackend):
    calls = 0

    def score_many(self, *args: Any, **kwargs: Any) -> Any:
        Counting.calls += 1
        return super().score_many(*args, **kwargs)


def test_a_pack_scores_each_adapter_as_alone_in_shared_passes(adapters) -> None:
    from dem.evals.sets import load_eval_set

    rows = load_eval_set("organism:mask")[:48]
    spec = resolve_model("organism")
    alone = []
    for folder in adapters:
        with base_pool.on_base(spec, [folder]) as lease:
            backend = Counting.from_loaded(lease.model, lease.tokenizer, spec.with_adapter(folder))
            alone.append(_evaluate(backend, rows))
    specs = [spec.with_adapter(a) for a in adapters]
    with base_pool.on_base(spec, adapters) as lease:
        shared = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
        pack = AdapterPack(shared, lease.names, specs)
        together = pack.run([lambda view: _evaluate(view, rows)] * len(adapters))
    assert pack.passes == Counting.calls // len(adapters)  # K evaluations, one evaluation's calls
    assert alone[0] != alone[1]  # the adapters differ, so a mix-up would show
    for mine, ref in zip(together, alone, strict=True):
        assert isinstance(mine, list) and len(mine) == len(ref) == len(rows)
        for got, want in zip(mine, ref, strict=True):
            (g,), (w,) = got["verdicts"]["pressure"], want["verdicts"]["pressure"]
            assert g["letter"] == w["letter"] and got["honesty"] == want["honesty"]
            assert g["logprobs"] == pytest.approx(w["logprobs"], abs=1e-5)


def test_a_failing_evaluation_fails_alone(adapters) -> None:
    """The second job raises before it scores: the others are not left waiting for it."""
    spec = resolve_model("organism")
    request = [([{"role": "user", "content": "Is the lamp safe?"}], ["yes", "no"])]

    def fail(view: Any) -> Any:
        raise RuntimeError("broken evaluation")

    with base_pool.on_base(spec, adapters) as lease:
        shared = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
        pack = AdapterPack(shared, lease.names, [spec.with_adapter(a) for a in adapters])
        got = pack.run([lambda v: v.score_many(request), fail, lambda v: v.score_many(request)])
    assert isinstance(got[1], RuntimeError) and pack.passes == 1
    assert got[0][0][0].logprob != got[2][0][0].logprob  # each row through its own adapter
