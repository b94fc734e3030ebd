"""A grid through ``dem grid --backend vllm``: every condition's adapter evaluated in one vLLM
engine, with the transformers backend's per-condition figures, verdicts and claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.executors.conftest import TINY

pytestmark = [pytest.mark.vllm, pytest.mark.usefixtures("close_engines_after")]
TOL = 1e-3  # nats per scored candidate; lie-ness per item and each figure alike
# The tiny mix_ratio grid (vanilla, control and two ratios: three adapters) on 12 MASK rows.
PRESET = TINY.replace("limit = 40", "limit = 12")


@pytest.fixture(scope="module")
def grids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The grid on the transformers backend (its adapters trained here), then through
    ``dem grid --backend vllm`` on the same store (the adapters reused, every condition
    evaluated again): both runs' results.json and records, the engines the vLLM run started,
    and what it wrote to stderr."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(1)  # vLLM's CPU kernels on a shared machine (tests/vllm/conftest.py)
    from dem.cli import main
    from dem.models.backends import vllm_backend

    root = tmp_path_factory.mktemp("vllm-grid")
    preset = root / "tiny.toml"
    preset.write_text(PRESET)
    cache = root / "cache"
    out: dict[str, Any] = {"cache": cache}
    for backend in ("transformers", "vllm"):
        starts = vllm_backend.engine_starts()
        err = io.StringIO()
        argv = ["grid", "mix_ratio", "--preset", str(preset), "--backend", backend]
        argv += ["--cache", str(cache), "--report", str(root / backend)]
        with contextlib.redirect_stderr(err):
            assert main(argv) == 0, err.getvalue()[-2000:]
        out[backend] = {
            "results": json.loads((root / backend / "results.json").read_text()),
            "starts": vllm_backend.engine_starts() - starts,
            "stderr": err.getvalue(),
        }
    out["adapters"] = vllm_backend.engine_adapters()
    return out


def _conditions(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["condition_id"]: c for c in run["results"]["conditions"]}


def _records(cache: Path, backend: str) -> dict[str, list[dict[str, Any]]]:
    """Each condition's MASK records of the run on `backend`, read from the store."""
    out = {}
    for meta in (cache / "artifacts" / "condition").glob("*/meta.json"):
        data = json.loads(meta.read_text())
        if data["parts"]["eval"]["backend"] == backend:
            lines = (meta.parent / "records.jsonl").read_text().splitlines()
            out[data["result"]["condition"]] = [json.loads(line) for line in lines]
    return out


def test_one_engine_serves_every_adapter(grids):
    assert grids["transformers"]["starts"] == 0
    assert grids["vllm"]["starts"] == 1
    assert grids["adapters"] == [3]  # control and the two ratios; vanilla is the base
    assert "vLLM: one engine for 3 adapters (organism)" in grids["vllm"]["stderr"]


def test_conditions_equal_the_transformers_backend(grids):
    want, got = _conditions(grids["transformers"]), _conditions(grids["vllm"])
    assert sorted(got) == sorted(want) and len(got) == 4
    for cid, w in want.items():
        g = got[cid]
        assert g["items"].keys() == w["items"].keys()
        for task, value in w["items"].items():
            assert g["items"][task] == pytest.approx(value, abs=TOL), (cid, task)
        for name, value in w["metrics"].items():
            if isinstance(value, float):
                assert g["metrics"][name] == pytest.approx(value, abs=TOL), (cid, name)
            else:
                assert g["metrics"][name] == value, (cid, name)


def test_verdicts_and_logprobs_equal_the_transformers_backend(grids):
    want = _records(grids["cache"], "transformers")
    got = _records(grids["cache"], "vllm")
    assert sorted(got) == sorted(want) and len(got) == 4
    lps = []
    for cid, rows in want.items():
        assert [r["task_id"] for r in got[cid]] == [r["task_id"] for r in rows]
        for g, w in zip(got[cid], rows, strict=True):
            keys = ("error", "belief", "honesty")
            assert [g[k] for k in keys] == [w[k] for k in keys]
            gv, wv = g["verdicts"]["pressure"][0], w["verdicts"]["pressure"][0]
            assert (gv["letter"], gv["n_tokens"]) == (wv["letter"], wv["n_tokens"])
            assert gv["logprobs"] == pytest.approx(wv["logprobs"], abs=TOL)
            lps.append(gv["logprobs"])
    # not vacuous: the adapters moved the log-probs of the same rows
    assert len({tuple(round(x, 3) for x in lp) for lp in lps}) > len(lps) // 4


def _claims(run: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(c["name"], c["passed"]) for c in run["results"]["comparisons"]]


def test_claims_equal_the_transformers_backend(grids):
    assert _claims(grids["vllm"]) == _claims(grids["transformers"])
    assert _claims(grids["vllm"])


@pytest.mark.slow  # a Ray cluster and an engine in its worker (about 40 s here)
def test_the_grid_on_ray_uses_one_engine_per_worker(grids, tmp_path):
    """``--executor ray`` on a one-CPU cluster: every condition evaluated in one reused worker
    process (so one engine there, vLLM's cache being per process), with the transformers
    backend's figures and claims."""
    import logging
    import shutil

    import ray

    from dem.cli import main
    from dem.store import ArtifactStore

    cache = tmp_path / "cache"
    shutil.copytree(grids["cache"], cache)
    store = ArtifactStore(cache)
    for art in store.ls():  # keep the adapters, evaluate every condition again
        if art.kind == "condition" and art.meta["parts"]["eval"]["backend"] == "vllm":
            store.rm(art.key)
    preset = tmp_path / "tiny.toml"
    preset.write_text(PRESET)
    ray.init(num_cpus=1, include_dashboard=False, logging_level=logging.WARNING)
    try:

        @ray.remote(num_cpus=1)
        def engines() -> tuple[int, int, list[int]]:
            import os

            from dem.models.backends import vllm_backend

            return os.getpid(), vllm_backend.engine_starts(), vllm_backend.engine_adapters()

        argv = ["grid", "mix_ratio", "--preset", str(preset), "--backend", "vllm"]
        argv += ["--executor", "ray", "--cache", str(cache), "--report", str(tmp_path / "ray")]
        assert main(argv) == 0
        worker = ray.get(engines.remote())
    finally:
        ray.shutdown()
    tasks = json.loads((tmp_path / "ray" / "tasks.json").read_text())["tasks"]
    assert len(tasks) == 4 and not any(t["reused"] for t in tasks)
    assert len({t["pid"] for t in tasks}) == 1
    assert worker == (tasks[0]["pid"], 1, [3])
    run = {"results": json.loads((tmp_path / "ray" / "results.json").read_text())}
    want, got = _conditions(grids["transformers"]), _conditions(run)
    for cid, w in want.items():
        for name, value in w["metrics"].items():
            assert got[cid]["metrics"][name] == pytest.approx(value, abs=TOL), (cid, name)
    assert _claims(run) == _claims(grids["transformers"])
