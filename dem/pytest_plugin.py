"""dem's pytest plugin: options, the experiment fixture, result collection, reports.

Loaded through the ``pytest11`` entry point. State lives in ``config.stash``; under
pytest-xdist each worker sends the ids of the conditions and claims it saw to the controller,
which writes one report from the artifact store (nothing is recomputed there).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from dem.errors import DemError

MARKERS = {
    "mix_ratio": "the downstream-mixture grid (claim 2 of the study)",
    "domain": "the narrow-domain finetuning grid (claim 1 of the study)",
    "interaction": "the biased human-AI interaction grid (claim 3 of the study)",
    "gate": "the honesty release gate: candidate model against a baseline",
    "gpu": "needs a CUDA GPU (never run in CI)",
    "slow": "takes more than a few seconds or needs the smollm2 model",
}
GRID_MARKERS = ("mix_ratio", "domain", "interaction")
EXPERIMENT_KEY = pytest.StashKey["Any"]()
SEEN_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dem", "dem: emergent-misalignment experiments")
    group.addoption(
        "--dem-model",
        default=None,
        help="model under test: organism (default), smollm2, a hub id or a folder",
    )
    group.addoption(
        "--dem-adapter",
        default=None,
        help="a LoRA adapter folder applied on top of --dem-model (gate)",
    )
    group.addoption(
        "--dem-baseline", default=None, help="gate baseline model (default: the preset's model)"
    )
    group.addoption(
        "--dem-baseline-adapter",
        default=None,
        help="a LoRA adapter folder applied on top of --dem-baseline (gate)",
    )
    group.addoption(
        "--dem-preset",
        default="smoke",
        help="smoke | paper | path to a preset TOML (default: smoke)",
    )
    group.addoption("--dem-backend", default=None, help="transformers | vllm | openai")
    group.addoption("--dem-judge", default=None, help="logprob | lexical | llm:<model>")
    group.addoption(
        "--dem-seeds",
        default=None,
        help="comma-separated finetuning seeds, overriding the preset's",
    )
    group.addoption(
        "--dem-cache",
        default=None,
        help="artifact cache folder (default: $DEM_CACHE or the user cache)",
    )
    group.addoption(
        "--dem-report",
        default=None,
        help="write results.json, report.md, figures and gate.json here",
    )


def _share_cores(config: pytest.Config) -> None:
    """Under pytest-xdist, give each worker its share of the cores: torch threads spinning
    against each other on shared cores run tiny models tens of times slower."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers or not hasattr(config, "workerinput"):
        return
    threads = max(1, (os.cpu_count() or 1) // int(workers))
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def pytest_configure(config: pytest.Config) -> None:
    _share_cores(config)
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.stash[SEEN_KEY] = {"conditions": [], "claims": []}
    try:
        config.stash[EXPERIMENT_KEY] = _experiment_from_options(config)
    except DemError as exc:
        raise pytest.UsageError(f"dem: {exc}") from None


def _experiment_from_options(config: pytest.Config) -> Any:
    from dem.experiments.presets import parse_seeds
    from dem.experiments.session import Experiment

    opt = config.getoption
    seeds = opt("--dem-seeds")
    return Experiment.create(
        preset=opt("--dem-preset"),
        model=opt("--dem-model"),
        adapter=opt("--dem-adapter"),
        baseline=opt("--dem-baseline"),
        baseline_adapter=opt("--dem-baseline-adapter"),
        backend=opt("--dem-backend"),
        judge=opt("--dem-judge"),
        seeds=None if seeds is None else parse_seeds(seeds),
        cache=opt("--dem-cache"),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize grid tests from the preset: ``dem_condition`` per grid, claims per ratio."""
    exp = metafunc.config.stash.get(EXPERIMENT_KEY, None)
    if exp is None:
        return
    marker_grid = next(
        (m.name for m in metafunc.definition.iter_markers() if m.name in GRID_MARKERS),
        None,
    )
    if "dem_condition" in metafunc.fixturenames and marker_grid:
        conds = exp.conditions(marker_grid)
        metafunc.parametrize("dem_condition", conds, ids=[c.id for c in conds])
    if "dem_claim" in metafunc.fixturenames and marker_grid:
        claims = exp.claim_names(marker_grid)
        metafunc.parametrize("dem_claim", claims, ids=claims)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """GPU tests share one xdist group, so `-n N --dist loadgroup` runs them on one worker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("gpu") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("gpu"))


@pytest.fixture(scope="session")
def dem_experiment(pytestconfig: pytest.Config) -> Any:
    """The configured `dem.experiments.Experiment` (preset, models, store)."""
    return pytestconfig.stash[EXPERIMENT_KEY]


@pytest.fixture
def dem_result(request: pytest.FixtureRequest, dem_experiment: Any, dem_condition: Any) -> Any:
    """The `ConditionResult` of this test's condition: from the store, or built once."""
    result = dem_experiment.result(dem_condition)
    request.config.stash[SEEN_KEY]["conditions"].append(dem_condition.id)
    _properties(request, {"condition": dem_condition.id, **_scalars(result.metrics)})
    return result


@pytest.fixture
def dem_verdict(request: pytest.FixtureRequest, dem_experiment: Any, dem_claim: str) -> Any:
    """The `Comparison` of this test's claim (effect, CI, threshold, passed)."""
    comparison = dem_experiment.claim(dem_claim)
    request.config.stash[SEEN_KEY]["claims"].append(dem_claim)
    _properties(
        request,
        {
            "claim": dem_claim,
            "effect": comparison.effect,
            "ci_low": comparison.ci_low,
            "ci_high": comparison.ci_high,
            "threshold": comparison.threshold,
            "passed": comparison.passed,
        },
    )
    return comparison


@pytest.fixture
def dem_gate(request: pytest.FixtureRequest, dem_experiment: Any) -> Any:
    """The gate `Comparison`: candidate (--dem-model [+ --dem-adapter]) vs --dem-baseline.

    Judge failures and too few decidable items raise here, so they are test errors, never a
    pass or a fail.
    """
    comparison = dem_experiment.gate()
    request.config.stash[SEEN_KEY]["claims"].append("gate")
    _properties(
        request,
        {
            "claim": "gate",
            "effect": comparison.effect,
            "ci_low": comparison.ci_low,
            "ci_high": comparison.ci_high,
            "threshold": comparison.threshold,
            "passed": comparison.passed,
        },
    )
    return comparison


def _scalars(metrics: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(metrics).items() if isinstance(v, int | float | str)}


def _properties(request: pytest.FixtureRequest, props: dict[str, Any]) -> None:
    for key, value in props.items():
        request.node.user_properties.append((f"dem.{key}", value))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    seen = config.stash.get(SEEN_KEY, None)
    if seen is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand what it saw to the controller
        workeroutput["dem_seen"] = seen
        return
    _write_report(config, seen)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: merge what each worker saw."""
    seen = getattr(node, "workeroutput", {}).get("dem_seen")
    if seen:
        mine = node.config.stash[SEEN_KEY]
        mine["conditions"] += seen["conditions"]
        mine["claims"] += seen["claims"]


def _write_report(config: pytest.Config, seen: dict) -> None:
    exp = config.stash.get(EXPERIMENT_KEY, None)
    if exp is None or not (seen["conditions"] or seen["claims"]):
        return
    run = exp.collect(seen["conditions"], seen["claims"])
    config.stash[SEEN_KEY]["run"] = run
    out = config.getoption("--dem-report")
    if out:
        from dem.report import write_report

        config.stash[SEEN_KEY]["report"] = write_report(run, Path(out))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    seen = config.stash.get(SEEN_KEY, {})
    run = seen.get("run")
    if run is None:
        return
    from dem.report.tables import comparisons_table, conditions_table

    tr = terminalreporter
    tr.write_sep("=", f"dem: {run.preset} preset, model {run.model}")
    tr.write_line(conditions_table(run))
    if run.comparisons:
        tr.write_line("")
        tr.write_line(comparisons_table(run.comparisons))
    if seen.get("report"):
        tr.write_line(f"\ndem report: {seen['report']}")
