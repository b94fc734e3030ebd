"""dem's pytest plugin: options, the experiment fixtures, result collection, reports.

Loaded through the ``pytest11`` entry point in every pytest run of an environment where dem is
installed, so it is inert until used: it imports nothing heavy and reads no preset unless a
``--dem-*`` option is given (then a bad preset or model is a usage error at once) or a test asks
for a dem fixture. State lives in ``config.stash`` as one `DemState`. Under pytest-xdist each
worker builds the grid conditions its collection holds, skipping those another worker is
building, then sends the ids of the conditions and claims its tests saw to the controller, which
writes one report from the artifact store (nothing is recomputed there).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from dem.errors import DemError

if TYPE_CHECKING:
    from dem.executors import Executor
    from dem.experiments.conditions import Condition
    from dem.experiments.gate import GateVerdict
    from dem.experiments.session import Experiment
    from dem.report.results import Comparison, ConditionResult, RunResults

MARKERS = {
    "mix_ratio": "the downstream-mixture grid (claim 2 of the study)",
    "domain": "the narrow-domain finetuning grid (claim 1 of the study)",
    "interaction": "the biased human-AI interaction grid (claim 3 of the study)",
    "mitigation": "the mitigation grid: defences against emergent dishonesty and their costs",
    "gate": "the honesty release gate: candidate model against a baseline",
    "gpu": "needs a CUDA GPU (never run in CI)",
    "slow": "takes more than a few seconds or needs the smollm2 model",
}
GRID_MARKERS = ("mix_ratio", "domain", "interaction", "mitigation")
DEM_FIXTURES = {"dem_experiment", "dem_result", "dem_verdict", "dem_gate"}
OPTIONS = {
    "--dem-model": "model under test: organism (default), smollm2, a hub id or a folder",
    "--dem-adapter": "a LoRA adapter folder applied on top of --dem-model (gate)",
    "--dem-baseline": "gate baseline model (the gate requires it, as it does --dem-model)",
    "--dem-baseline-adapter": "a LoRA adapter folder applied on top of --dem-baseline (gate)",
    "--dem-preset": "smoke (default) | paper | path to a preset TOML",
    "--dem-backend": "transformers | vllm | openai",
    "--dem-judge": "logprob | lexical | llm:<model> | choice:<model>",
    "--dem-seeds": "comma-separated finetuning seeds, overriding the preset's",
    "--dem-cache": "artifact cache folder (default: $DEM_CACHE or the user cache)",
    "--dem-report": "write results.json, report.md, figures and gate.json here",
    "--dem-executor": "build the selected conditions up front on local | ray | slurm "
    "(dem.executors; without it each process builds what its tests read)",
    "--dem-jobs": "at most this many conditions at once (without --dem-executor and -n: local "
    "worker processes, default 2, as dem demo)",
    "--dem-retries": "with --dem-executor ray | slurm: runs again of a condition lost with its "
    "worker or node (default 3)",
    "--dem-pack": "LoRA adapters trained and scored together in one pack on one base (1: one "
    "at a time; "
    "default: 1 on a CPU, on a GPU what memory fits, split between the workers)",
}


@dataclass
class DemState:
    """What the plugin keeps for one pytest run (in ``config.stash[STATE]``)."""

    config: pytest.Config
    conditions: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    to_build: list[Condition] = field(default_factory=list)
    gate_selected: bool = False
    built: bool = False
    dispatch_error: str | None = None
    gate: GateVerdict | None = None
    gate_error: str | None = None  # the gate could not decide: the run exits with code 2
    run: RunResults | None = None
    report: Path | None = None
    _experiment: Experiment | None = None

    @property
    def used(self) -> bool:
        """Whether a ``--dem-*`` option was given."""
        return any(self.config.getoption(name) is not None for name in OPTIONS)

    @property
    def experiment(self) -> Experiment:
        """The configured `dem.experiments.Experiment`, created on first use."""
        if self._experiment is None:
            try:
                self._experiment = _experiment_from_options(self.config)
            except DemError as exc:
                raise pytest.UsageError(f"dem: {exc}") from None
        return self._experiment

    def gate_error_verdict(self, reason: str) -> GateVerdict:
        """The verdict of a gate that could not decide, naming no candidate that was not given."""
        verdict = self.experiment.gate_error_verdict(reason)
        if self.config.getoption("--dem-model") is None:
            verdict = replace(verdict, candidate="(no candidate)")
        return verdict

    def build_collected(self) -> None:
        """Once per process, before tests read them: build the collected conditions (and the
        gate's two models) on ``--dem-executor``; without it, build the grid conditions that no
        other process is building (xdist workers split the grid this way)."""
        if self.dispatch_error is not None:
            pytest.fail(self.dispatch_error, pytrace=False)
        if self.built:
            return
        self.built = True
        exp = self.experiment
        if self.config.getoption("--dem-executor") is None:
            self._build_locally(exp)
            return
        from dem.executors import ExecutorError

        jobs = self.config.getoption("--dem-jobs")
        tasks = exp.pack_tasks(self.to_build, int(jobs) if jobs else 1)
        tasks += exp.gate_tasks() if self.gate_selected else []
        try:
            exp.dispatch(tasks, _executor_from_options(self.config), desc="dem conditions")
        except ExecutorError:  # each test reading a failed condition errors with its reason
            pass
        except DemError as exc:  # nothing was built (e.g. a request the cluster cannot meet)
            self.dispatch_error = f"dem: {exc}"
            pytest.fail(self.dispatch_error, pytrace=False)

    def _build_locally(self, exp: Experiment) -> None:
        """Without ``--dem-executor``: an xdist worker builds its share of the collected
        conditions here (its threads set by `share_cores`); a run without ``-n`` builds the
        missing ones as `dem demo` does, in `local_jobs` worker processes with their share of
        the cores each (one process with every core's torch threads spins them against
        whatever else runs: 4.6x the demo's CPU for the same grid, docs/measurements.md)."""
        jobs = local_jobs(self.config)
        missing = []
        if jobs > 1:
            missing = [c for c in self.to_build if exp.runner.cached(c, model=exp.model) is None]
        if len(missing) < 2:
            exp.build(self.to_build)
            return
        from dem.executors import ExecutorError, get_executor

        try:
            workers = min(jobs, len(missing))
            executor = get_executor("local", jobs=workers, field="--dem-jobs")
            exp.dispatch(exp.pack_tasks(missing, workers), executor, desc="dem conditions")
        except ExecutorError:  # each test reading a failed condition errors with its reason
            pass


STATE = pytest.StashKey[DemState]()


def local_jobs(config: pytest.Config) -> int:
    """Worker processes that build a run's conditions without ``--dem-executor``: 1 in an
    xdist worker (the workers split the grid), else ``--dem-jobs`` or, as `dem demo`, two
    (one on a one-core machine)."""
    if hasattr(config, "workerinput"):
        return 1
    text = config.getoption("--dem-jobs")
    if text is None:
        return min(2, os.cpu_count() or 1)
    try:
        return max(1, int(text))
    except ValueError:
        raise pytest.UsageError(f"dem: --dem-jobs: {text!r} is not an integer") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dem", "dem: emergent-misalignment experiments")
    for name, text in OPTIONS.items():
        group.addoption(name, default=None, help=text)


def share_cores(config: pytest.Config) -> None:
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
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    state = DemState(config)
    config.stash[STATE] = state
    if config.getoption("xmlpath", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(GateClassname(config), "dem-gate-classname")
    if state.used:  # validate now: a bad option is a usage error before any test runs
        share_cores(config)
        state.experiment  # noqa: B018
        local_jobs(config)  # a bad --dem-jobs is a usage error now, not at the first test
        if config.getoption("--dem-executor") is not None:
            _check_executor_options(config)


class GateClassname:
    """Under ``pytest --pyargs dem.gate`` the shipped module lies outside the rootdir, its test
    id has no path, and pytest's JUnit XML gives the gate an empty classname: name it
    ``dem.gate``, as ``dem gate --junitxml`` does. (A gate inside a suite keeps its own.)"""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes the test case
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        gate = ("dem.claim", "gate") in report.user_properties
        if not (gate and report.nodeid.startswith("::")):
            return
        try:  # the public `record_xml_attribute` does this, but warns under xunit2
            from _pytest.junitxml import xml_key
        except ImportError:  # pragma: no cover - a pytest without it keeps its classname
            return
        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            xml.node_reporter(report).add_attribute("classname", "dem.gate")


def _check_executor_options(config: pytest.Config) -> None:
    """``--dem-executor`` with its extra installed, integer --dem-jobs/--dem-retries, and no
    pytest-xdist workers (the executor places the conditions itself)."""
    if config.getoption("numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError(
            "dem: --dem-executor places the conditions itself; run pytest without -n"
        )
    try:
        _executor_from_options(config)
    except DemError as exc:
        raise pytest.UsageError(f"dem: {exc}") from None


def _executor_from_options(config: pytest.Config) -> Executor:
    from dem.errors import ConfigError
    from dem.executors import get_executor

    numbers = {}
    for name in ("--dem-jobs", "--dem-retries"):
        text = config.getoption(name)
        try:
            numbers[name] = None if text is None else int(text)
        except ValueError:
            raise ConfigError(name, f"{text!r} is not an integer") from None
    report = config.getoption("--dem-report")
    return get_executor(
        config.getoption("--dem-executor"),
        jobs=numbers["--dem-jobs"],
        retries=3 if numbers["--dem-retries"] is None else numbers["--dem-retries"],
        log_dir=Path(report or "dem-report") / "slurm",
        field="--dem-executor",
    )


def _experiment_from_options(config: pytest.Config) -> Experiment:
    from dem.errors import ConfigError
    from dem.experiments.gate import PYTEST_OPTIONS
    from dem.experiments.presets import parse_seeds
    from dem.experiments.session import Experiment

    opt = config.getoption
    seeds = opt("--dem-seeds")
    pack = opt("--dem-pack")
    if pack is not None:
        try:
            pack = int(pack)
        except ValueError:
            raise ConfigError("--dem-pack", f"{pack!r} is not an integer") from None
    return Experiment.create(
        preset=opt("--dem-preset") or "smoke",
        model=opt("--dem-model"),
        adapter=opt("--dem-adapter"),
        baseline=opt("--dem-baseline"),
        baseline_adapter=opt("--dem-baseline-adapter"),
        backend=opt("--dem-backend"),
        judge=opt("--dem-judge"),
        seeds=None if seeds is None else parse_seeds(seeds),
        cache=opt("--dem-cache"),
        options=PYTEST_OPTIONS,
        pack=pack,
    )


def _check_gate_options(config: pytest.Config) -> None:
    """The gate's candidate and baseline were named, and differ (`check_gate_models`)."""
    from dem.experiments.gate import PYTEST_OPTIONS, check_gate_models

    opt = config.getoption
    check_gate_models(
        opt("--dem-model"),
        opt("--dem-adapter"),
        opt("--dem-baseline"),
        opt("--dem-baseline-adapter"),
        options=PYTEST_OPTIONS,
    )


def _grid_of(definition: Any) -> str | None:
    return next((m.name for m in definition.iter_markers() if m.name in GRID_MARKERS), None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize grid tests from the preset: ``dem_condition`` per condition, ``dem_claim``
    per asserted claim."""
    wanted = {"dem_condition", "dem_claim"} & set(metafunc.fixturenames)
    grid = _grid_of(metafunc.definition) if wanted else None
    if grid is None:
        return
    state = metafunc.config.stash[STATE]
    share_cores(metafunc.config)
    if "dem_condition" in wanted:
        conds = state.experiment.conditions(grid)
        metafunc.parametrize("dem_condition", conds, ids=[c.id for c in conds])
    if "dem_claim" in wanted:
        claims = state.experiment.claim_names(grid)
        metafunc.parametrize("dem_claim", claims, ids=claims)


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember the grid conditions the selected tests read (built up front, shared between
    xdist workers). Under xdist, tests that use dem's fixtures run after the others, so every
    worker reaches them and builds its share of the grid (in collection order, xdist hands the
    first chunk of tests, the whole grid, to one worker). GPU tests share one xdist group, so
    `--dist loadgroup` keeps them on one worker (with pytest-xdist 3.8 on pytest >= 9.2 the
    group marks are not applied: pytest-dev/pytest-xdist#1386)."""
    state = config.stash[STATE]
    if hasattr(config, "workerinput"):  # every worker reorders alike, as xdist requires
        uses = [bool(DEM_FIXTURES & set(getattr(i, "fixturenames", ()))) for i in items]
        items[:] = [i for i, u in zip(items, uses, strict=True) if not u] + [
            i for i, u in zip(items, uses, strict=True) if u
        ]
    seen: dict[str, Condition] = {}
    for item in items:
        state.gate_selected |= "dem_gate" in getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "dem_condition" in params:
            seen.setdefault(params["dem_condition"].id, params["dem_condition"])
        if "dem_claim" in params:
            for c in state.experiment.claim_conditions(params["dem_claim"]):
                seen.setdefault(c.id, c)
    state.to_build = list(seen.values())
    if state.gate_selected and not hasattr(config, "workerinput"):
        try:  # fail closed before anything runs; xdist workers error in `dem_gate` instead
            _check_gate_options(config)
        except DemError as exc:
            _write_gate_error(state, str(exc))
            raise pytest.UsageError(f"dem: {exc}") from None
    if config.pluginmanager.hasplugin("xdist"):
        for item in items:
            if item.get_closest_marker("gpu") and not item.get_closest_marker("xdist_group"):
                item.add_marker(pytest.mark.xdist_group("gpu"))


@pytest.fixture(scope="session")
def dem_experiment(pytestconfig: pytest.Config) -> Experiment:
    """The configured `dem.experiments.Experiment` (preset, models, store)."""
    return pytestconfig.stash[STATE].experiment


@pytest.fixture
def dem_result(
    request: pytest.FixtureRequest, dem_experiment: Experiment, dem_condition: Condition
) -> ConditionResult:
    """The `ConditionResult` of this test's condition: from the store, or built once."""
    state = request.config.stash[STATE]
    state.build_collected()
    result = dem_experiment.result(dem_condition)
    state.conditions.append(dem_condition.id)
    _properties(request, {"condition": dem_condition.id, **_scalars(result.metrics)})
    return result


@pytest.fixture
def dem_verdict(
    request: pytest.FixtureRequest, dem_experiment: Experiment, dem_claim: str
) -> Comparison:
    """The `Comparison` of this test's claim (effect, CI, threshold, passed)."""
    state = request.config.stash[STATE]
    state.build_collected()
    comparison = dem_experiment.claim(dem_claim)
    state.claims.append(dem_claim)
    from dem.report.gate import comparison_properties

    _properties(request, {"claim": dem_claim, **comparison_properties(comparison)})
    return comparison


@pytest.fixture
def dem_gate(request: pytest.FixtureRequest, dem_experiment: Experiment) -> GateVerdict:
    """The gate verdict: candidate (--dem-model [+ --dem-adapter]) vs --dem-baseline.

    No candidate or baseline named, judge failures, too few decidable items and unusable
    adapters raise here, so they are test errors (and the run exits with code 2), never a pass
    or a fail. The test's JUnit properties are `dem.report.gate.gate_properties`, as
    ``dem gate --junitxml`` writes them.
    """
    from dem.report.gate import gate_properties

    state = request.config.stash[STATE]
    try:
        _check_gate_options(request.config)
        state.build_collected()
        verdict = dem_experiment.gate()
    except DemError as exc:
        state.gate_error = str(exc)
        _properties(request, gate_properties(state.gate_error_verdict(str(exc))))
        pytest.fail(f"dem: {exc}", pytrace=False)
    state.gate = verdict
    state.claims.append("gate")
    _properties(request, gate_properties(verdict))
    return verdict


def _scalars(metrics: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(metrics).items() if isinstance(v, int | float | str)}


def _properties(request: pytest.FixtureRequest, props: dict[str, Any]) -> None:
    for key, value in props.items():
        request.node.user_properties.append((f"dem.{key}", value))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand what it saw to the controller
        workeroutput["dem_seen"] = {
            "conditions": state.conditions,
            "claims": state.claims,
            "gate_error": state.gate_error,
        }
        return
    _write_report(state)
    if state.gate_error is not None:  # the gate could not decide: exit code 2, as `dem gate`
        session.exitstatus = pytest.ExitCode.INTERRUPTED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: merge what each worker saw."""
    seen = getattr(node, "workeroutput", {}).get("dem_seen")
    if seen:
        mine = node.config.stash[STATE]
        mine.conditions += seen["conditions"]
        mine.claims += seen["claims"]
        mine.gate_error = mine.gate_error or seen.get("gate_error")


def _write_gate_error(state: DemState, reason: str) -> None:
    """With --dem-report, the gate.json of a gate that could not decide (as ``dem gate``)."""
    out = state.config.getoption("--dem-report")
    if out:
        from dem.report import write_gate_json

        write_gate_json(state.gate_error_verdict(reason), Path(out) / "gate.json")


def _write_report(state: DemState) -> None:
    out = state.config.getoption("--dem-report")
    if state.gate_error is not None:
        _write_gate_error(state, state.gate_error)
    if not (state.conditions or state.claims):
        return
    state.run = state.experiment.collect(state.conditions, state.claims)
    if out:
        from dem.report import write_report

        state.report = write_report(state.run, Path(out))
        if state.experiment.outcomes:
            from dem.executors.task import write_outcomes

            write_outcomes(state.experiment.outcomes, Path(out) / "tasks.json")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    tr = terminalreporter
    if state.gate_error is not None:
        tr.write_sep("=", "dem: the gate could not decide (exit code 2)")
        tr.write_line(state.gate_error)
    run = state.run
    if run is None:
        return
    from dem.report.tables import comparisons_table, conditions_table

    tr.write_sep("=", f"dem: {run.preset} preset, model {run.model}")
    tr.write_line(conditions_table(run))
    if run.comparisons:
        tr.write_line("")
        tr.write_line(comparisons_table(run.comparisons))
    if "gate" in run.info:
        tr.write_line("")
        tr.write_line(run.info["gate"]["explanation"])
    outcomes = state.experiment.outcomes
    if outcomes:
        from dem.executors.task import summarize

        where = config.getoption("--dem-executor") or "local"
        tr.write_line(f"\ndem: {summarize(where, outcomes)}")
    if state.report:
        tr.write_line(f"\ndem report: {state.report}")
