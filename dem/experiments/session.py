"""`Experiment`: a preset bound to models and a store; the one object both front doors use.

`pytest_plugin` and `cli` call only this: conditions and claims of a grid, the result of a
condition (cached), the verdict of a claim, and whole-grid runs that end in `RunResults`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from dem.errors import ConfigError, DemError
from dem.experiments import analysis
from dem.experiments.conditions import (
    CLAIMS,
    GRIDS,
    Claim,
    Condition,
    audit_rows,
    check_learning_sets,
    mitigation_rows,
    vanilla,
)
from dem.experiments.gate import (
    CLI_OPTIONS,
    GateVerdict,
    OptionNames,
    error_verdict,
    gate_verdict,
)
from dem.experiments.presets import Preset, load_preset
from dem.report.results import REPORTED, Comparison, ConditionResult, RunResults

if TYPE_CHECKING:
    from dem.executors import Executor
    from dem.executors.task import ConditionTask, TaskOutcome
    from dem.experiments.runner import Runner


@dataclass
class Experiment:
    """A preset, the model under test (+ adapter), the gate baseline, and the artifact store."""

    preset: Preset
    model: str
    adapter: str | None = None
    baseline: str | None = None
    baseline_adapter: str | None = None
    cache: str | None = None
    pack: int | None = None
    _results: dict[str, ConditionResult] = field(default_factory=dict, repr=False)
    _runner: Runner | None = field(default=None, repr=False)
    _claim_map: dict[str, Claim] | None = field(default=None, repr=False)
    _builds_here: bool = field(default=True, repr=False)
    _failed: dict[str, str] = field(default_factory=dict, repr=False)
    outcomes: list[TaskOutcome] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        preset: str = "smoke",
        *,
        model: str | None = None,
        adapter: str | None = None,
        baseline: str | None = None,
        baseline_adapter: str | None = None,
        backend: str | None = None,
        judge: str | None = None,
        seeds: Sequence[int] | None = None,
        cache: str | None = None,
        options: OptionNames = CLI_OPTIONS,
        pack: int | None = None,
    ) -> Experiment:
        """Validate everything cheaply (no model is loaded): bad names fail here, each error
        naming the option as the front door in use spells it (`options`). `pack`: adapters
        trained together per pack (`dem.train.packed`; 1: one at a time; None: the default)."""
        if pack is not None and (isinstance(pack, bool) or not isinstance(pack, int) or pack < 1):
            raise ConfigError(options.pack, f"must be an integer >= 1, got {pack!r}")
        try:
            p = load_preset(preset, model=model, seeds=None if seeds is None else tuple(seeds))
        except ConfigError as exc:
            if exc.field != "preset":
                raise
            raise ConfigError(options.preset, str(exc).removeprefix("preset: ")) from None
        if backend or judge:
            p = replace(
                p,
                eval=replace(
                    p.eval, backend=backend or p.eval.backend, judge=judge or p.eval.judge
                ),
            )
        from dem.models.registry import check_model_name

        check_model_name(p.model, field=options.model)
        if baseline is not None:
            check_model_name(baseline, field=options.baseline)
        from pathlib import Path

        for option, folder in (
            (options.adapter, adapter),
            (options.baseline_adapter, baseline_adapter),
        ):
            if folder is not None and not Path(folder).is_dir():
                raise ConfigError(option, f"{folder} is not a folder")
        return cls(
            preset=p,
            model=p.model,
            adapter=adapter,
            baseline=baseline,
            baseline_adapter=baseline_adapter,
            cache=cache,
            pack=pack,
        )

    # -- grids ---------------------------------------------------------------------------
    def conditions(self, grid: str) -> list[Condition]:
        """The grid's conditions; those of the mitigation grid only where its learning
        measures can score the preset's sets (a `ConfigError` before anything is built)."""
        _check_grid(grid)
        if grid == "mitigation":
            check_learning_sets(self.preset)
        return GRIDS[grid](self.preset)

    def claims(self, grid: str) -> list[Claim]:
        """Every claim of a grid, asserted ones first."""
        _check_grid(grid)
        return CLAIMS[grid](self.preset)

    def claim_names(self, grid: str) -> list[str]:
        """The names of the grid's asserted claims (the tests)."""
        return [c.name for c in self.claims(grid) if c.asserted]

    def reported_claims(self, grid: str) -> list[str]:
        """Claims computed for the report but not asserted: each ratio (or biased share, or
        domain) alone vs its reference (a single cell is underpowered at smoke sizes; the
        asserted claim pools the cells from the threshold on)."""
        return [c.name for c in self.claims(grid) if not c.asserted]

    def _claim_index(self) -> dict[str, Claim]:
        if self._claim_map is None:
            self._claim_map = {c.name: c for grid in CLAIMS for c in self.claims(grid)}
        return self._claim_map

    def claim_conditions(self, name: str) -> list[Condition]:
        """Every condition the claim `name` reads (a ranked claim's parts included)."""
        index = self._claim_index()
        if name not in index:
            raise ConfigError("claim", f"unknown claim {name!r}")
        claims = [index[name], *(index[p] for p in index[name].parts)]
        return list({c.id: c for claim in claims for c in claim.conditions}.values())

    # -- results -------------------------------------------------------------------------
    @property
    def runner(self) -> Runner:
        if self._runner is None:
            from dem.experiments.runner import Runner

            self._runner = Runner(self.preset, cache=self.cache)
        return self._runner

    def result(
        self, condition: Condition, *, model: str | None = None, adapter: str | None = None
    ) -> ConditionResult:
        """The condition's result: from memory, from the store, or built (once)."""
        model = model or self.model
        key = _result_key(model, adapter, condition)
        if key not in self._results:
            if key in self._failed:
                raise DemError(f"{condition.id} (model {model}) failed: {self._failed[key]}")
            if not self._builds_here:
                raise DemError(
                    f"{condition.id} (model {model}) was not among the tasks of this "
                    "distributed run, and the driver never builds a condition itself"
                )
            self._results[key] = self.runner.run(condition, model=model, adapter=adapter)
        return self._results[key]

    def build(self, conditions: Sequence[Condition]) -> int:
        """Build the missing `conditions` that no other process is building right now; returns
        how many results this process now holds (built here or found done). Several processes
        calling this on one list split it between them (pytest-xdist workers do, before their
        tests read the results). Adapters train in packs first (`pack`), each worker claiming
        those no other is training."""
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
        self.runner.train_adapters(conditions, self.model, pack=self.pack, workers=workers)
        self.runner.evaluate_packs(conditions, self.model, pack=self.pack, workers=workers)
        built = 0
        for c in conditions:
            key = _result_key(self.model, None, c)
            if key in self._results:
                continue
            result = self.runner.run(c, model=self.model, wait=False)
            if result is not None:
                self._results[key] = result
                built += 1
        return built

    def scoring_problems(self, result: ConditionResult) -> list[str]:
        """Why a condition's score cannot be trusted (empty when it can): judge errors, too few
        decided items, or beliefs below the preset's ``eval.min_belief_accuracy``."""
        m, p = result.metrics, self.preset
        problems = []
        if m.get("errors"):
            problems.append(f"{m['errors']} judge errors")
        if (m.get("decided") or 0) < p.gate.min_decidable:
            problems.append(f"{m.get('decided')} decided items < {p.gate.min_decidable}")
        floor, acc = p.eval.min_belief_accuracy, m.get("belief_accuracy")
        if floor is not None and (acc is None or acc < floor):
            problems.append(f"belief accuracy {acc} < {floor}: ignorance, not dishonesty")
        return [f"{result.condition_id}: {x}" for x in problems]

    def _group(self, conds: Sequence[Condition]) -> list[ConditionResult]:
        return [self.result(c) for c in conds]

    def claim(self, name: str) -> Comparison:
        """Compute one claim of a grid (building whatever results it needs)."""
        claim = self._claim_index().get(name)
        if claim is None:
            raise ConfigError("claim", f"unknown claim {name!r}")
        plan = self._plan(claim.grid)
        if claim.kind == "trend":
            return analysis.trend(
                claim.name,
                claim.grid,
                self.preset.eval.metric,
                [(d, self._group(g)) for d, g in zip(claim.doses, claim.groups, strict=True)],
                confidence=plan.confidence,
                n_boot=self.preset.bootstrap,
            )
        if claim.kind == "ranked":
            return self._ranked(claim)
        if claim.grid == "mitigation":
            return self._mitigation_claim(claim)
        if claim.kind == "removed":
            audit = self.preset.audit
            cmp = analysis.removed(
                claim.name,
                claim.grid,
                self.preset.eval.metric,
                self._group(claim.treated),
                self._group(claim.reference),
                self._group(claim.groups[0]),
                max_remaining=audit.max_remaining,
                confidence=audit.confidence,
                n_boot=self.preset.bootstrap,
            )
            return replace(
                cmp, treatment=claim.label or cmp.treatment, detail=f"{claim.detail}; {cmp.detail}"
            )
        cmp = analysis.compare(
            claim.name,
            claim.grid,
            self.preset.eval.metric,
            self._group(claim.treated),
            self._group(claim.reference),
            threshold=plan.min_effect,
            confidence=plan.confidence,
            n_boot=self.preset.bootstrap,
        )
        if claim.label:
            cmp = replace(cmp, treatment=claim.label, detail=claim.detail)
        return cmp

    def _mitigation_claim(self, claim: Claim) -> Comparison:
        """A defence's share of the dishonesty effect removed (``removed``, one-sided at the
        plan's confidence), share of a learning gain kept (``kept``) or coherence difference
        (``difference``), the last two two-sided."""
        plan = self.preset.mitigation
        treated, reference = self._group(claim.treated), self._group(claim.reference)
        if claim.kind == "removed":
            cmp = analysis.removed(
                claim.name,
                claim.grid,
                self.preset.eval.metric,
                treated,
                reference,
                self._group(claim.groups[0]),
                max_remaining=1 - plan.min_removed,
                confidence=plan.confidence,
                n_boot=self.preset.bootstrap,
                sides=("unmitigated", "with the defence"),
            )
        elif claim.kind == "kept":
            cmp = analysis.kept(
                claim.name,
                claim.grid,
                claim.metric,
                treated,
                reference,
                self._group(claim.groups[0]),
                confidence=plan.confidence,
                n_boot=self.preset.bootstrap,
            )
        else:
            effect, lo, hi, n = analysis.bootstrap_difference(
                treated,
                reference,
                n_boot=self.preset.bootstrap,
                confidence=plan.confidence,
                field=claim.metric,
            )
            cmp = Comparison(
                name=claim.name,
                grid=claim.grid,
                metric=claim.metric,
                treatment=treated[0].group,
                reference=reference[0].group,
                effect=effect,
                ci_low=lo,
                ci_high=hi,
                confidence=plan.confidence,
                threshold=0.0,
                passed=lo > 0,
                n_items=n,
                n_seeds=len(treated),
                detail=f"{claim.metric} with the defence minus without",
            )
        return replace(cmp, treatment=claim.label or cmp.treatment, detail=cmp.detail)

    def _ranked(self, claim: Claim) -> Comparison:
        """At least ``rank`` of the part claims pass: the comparison of the part with the
        ``rank``-th highest interval lower end (it passes exactly when that many parts pass),
        naming the parts that pass."""
        per = {name: self.claim(name) for name in claim.parts}
        kth = sorted(per, key=lambda n: per[n].ci_low, reverse=True)[claim.rank - 1]
        if claim.grid == "mitigation":
            passing = [per[n].treatment for n in claim.parts if per[n].passed]
            return replace(
                per[kth],
                name=claim.name,
                treatment=f"{per[kth].treatment} (defence {claim.rank} of {len(per)} ranked "
                f"by CI, {claim.label} cell)",
                detail=f"removing > {per[kth].threshold:g} of the effect: {len(passing)} of "
                f"{len(per)}: {', '.join(passing) or 'none'}",
            )
        passing = [_domain_of(n) for n in claim.parts if per[n].passed]
        return replace(
            per[kth],
            name=claim.name,
            treatment=f"{claim.label} ({_domain_of(kth)}: domain {claim.rank} of {len(per)} "
            "ranked by CI)",
            reference="normal",
            detail=f"passing in {len(passing)} of {len(per)}: {', '.join(passing) or 'none'}",
        )

    def _plan(self, grid: str) -> Any:
        return {
            "mix_ratio": self.preset.mix_ratio,
            "interaction": self.preset.interaction,
            "mitigation": self.preset.mitigation,
        }.get(grid, self.preset.domain)

    # -- the release gate ------------------------------------------------------------------
    def gate_results(self) -> tuple[ConditionResult, ConditionResult]:
        """(baseline, candidate) scored on the preset's eval sets, labelled for reports."""
        base = self.result(vanilla(), model=self._gate_baseline(), adapter=self.baseline_adapter)
        cand = self.result(vanilla(), model=self.model, adapter=self.adapter)
        base_label, label = self._gate_labels()
        return (
            replace(base, group="baseline", grid="gate", condition_id="baseline", model=base_label),
            replace(cand, group="candidate", grid="gate", condition_id="candidate", model=label),
        )

    def _gate_baseline(self) -> str:
        """The baseline the user named: the gate never compares against a default."""
        if self.baseline is None:
            raise ConfigError("baseline", "the gate needs a baseline model; none was named")
        return self.baseline

    def _gate_labels(self) -> tuple[str, str]:
        """(baseline, candidate) as reports name them: ``model+adapter``."""
        base = self.baseline or "(no baseline)"
        return (
            base + (f"+{self.baseline_adapter}" if self.baseline_adapter else ""),
            self.model + (f"+{self.adapter}" if self.adapter else ""),
        )

    def gate(self) -> GateVerdict:
        """Candidate (model + adapter) against the baseline, on the preset's eval sets, in the
        preset's ``gate.mode``. Judge failures and too few decidable items raise `GateError`."""
        p = self.preset
        base, cand = self.gate_results()
        return gate_verdict(
            base,
            cand,
            metric=p.eval.metric,
            mode=p.gate.mode,
            max_drop=p.gate.max_drop,
            confidence=p.gate.confidence,
            min_decidable=p.gate.min_decidable,
            n_boot=p.bootstrap,
        )

    def gate_error_verdict(self, reason: str) -> GateVerdict:
        """The verdict of a gate that could not decide, for ``gate.json`` (exit code 2)."""
        p = self.preset
        baseline, candidate = self._gate_labels()
        return error_verdict(
            [reason],
            mode=p.gate.mode,
            max_drop=p.gate.max_drop,
            confidence=p.gate.confidence,
            candidate=candidate,
            baseline=baseline,
        )

    # -- runs ----------------------------------------------------------------------------
    def task(
        self,
        condition: Condition,
        *,
        model: str | None = None,
        adapter: str | None = None,
        pack: Sequence[Condition] = (),
    ) -> ConditionTask:
        """The spec an executor ships to build `condition` on `model` (+ `adapter`) anywhere:
        the store by absolute path and id, adapter folders made absolute."""
        from pathlib import Path

        from dem.executors.task import ConditionTask
        from dem.store import ArtifactStore
        from dem.verbosity import get_verbosity

        model = model or self.model
        store = ArtifactStore(self.cache)
        return ConditionTask(
            condition=condition,
            preset=self.preset,
            model=model,
            adapter=None if adapter is None else str(Path(adapter).resolve()),
            cache=str(store.root),
            store_id=store.store_id(),
            result_key=_result_key(model, adapter, condition),
            verbosity=get_verbosity(),
            pack=tuple(pack),
        )

    def pack_tasks(self, conditions: Sequence[Condition], workers: int = 1) -> list[ConditionTask]:
        """The tasks that build `conditions`, packed: the first condition of each pack trains
        the pack's adapters (`pack`, default `Runner.pack_size`, split between `workers`), the
        others only evaluate; pack leaders come first, so the packs train side by side."""
        packable = [c for c in conditions if self.runner.packable(c)]
        size = self.runner.pack_size(self.model, self.pack, len(packable), workers)
        if size < 2 or len(packable) < 2:
            return [self.task(c) for c in conditions]
        chunks = [packable[i : i + size] for i in range(0, len(packable), size)]
        leaders = [self.task(chunk[0], pack=chunk[1:]) for chunk in chunks]
        led = {chunk[0].id for chunk in chunks}
        return leaders + [self.task(c) for c in conditions if c.id not in led]

    def gate_tasks(self) -> list[ConditionTask]:
        """The two builds the gate reads: the baseline and the candidate (each + adapter)."""
        baseline = self._gate_baseline()
        return [
            self.task(vanilla(), model=baseline, adapter=self.baseline_adapter),
            self.task(vanilla(), model=self.model, adapter=self.adapter),
        ]

    def dispatch(
        self, tasks: Sequence[ConditionTask], executor: Executor, *, desc: str = "conditions"
    ) -> list[TaskOutcome]:
        """Run `tasks` on `executor` and keep their results. After a distributed executor this
        process builds nothing: a result no task returned is an error naming its condition."""
        from dem.executors import ExecutorError

        unique = list({t.result_key: t for t in tasks}.values())
        if not unique:
            return []
        if executor.distributed:
            self._builds_here = False
        try:
            outcomes = executor.run(unique, resources=self.preset.resources, desc=desc)
        except ExecutorError as exc:  # keep what succeeded; a failed result names its reason
            self._keep(exc.outcomes)
            self._failed.update(exc.failed)
            raise
        self._keep(outcomes)
        missing = [t.label for t in unique if t.result_key not in self._results]
        if missing:
            raise DemError(f"no result from the {executor.name} run for: {', '.join(missing)}")
        return outcomes

    def _keep(self, outcomes: Sequence[TaskOutcome]) -> None:
        for outcome in outcomes:
            self._results[outcome.result_key] = outcome.result
        self.outcomes += outcomes

    def collect(self, condition_ids: Sequence[str], claims: Sequence[str]) -> RunResults:
        """`RunResults` for the named conditions and claims (all already in the store)."""
        wanted = set(condition_ids)
        conds: list[ConditionResult] = []
        for grid in GRIDS:
            for c in GRIDS[grid](self.preset):
                if c.id in wanted and all(r.condition_id != c.id for r in conds):
                    conds.append(self.result(c))
        names = list(dict.fromkeys(claims))
        verdict = self.gate() if "gate" in names else None
        comparisons = [self.claim(name) for name in names if name != "gate"]
        for grid in dict.fromkeys(c.grid for c in comparisons):
            comparisons += [
                replace(self.claim(name), detail=REPORTED) for name in self.reported_claims(grid)
            ]
        info: dict[str, Any] = {
            "seeds": list(self.preset.seeds),
            "preset_file": self.preset.source,
            "relative_to": self.preset.data.relative_to,
        }
        names_run = {c.name for c in comparisons}
        audit = [row for row in audit_rows(self.preset) if row["removed"] in names_run]
        if audit:
            info["audit"] = audit
        if "mitigation" in {c.grid for c in comparisons}:
            info["mitigation"] = mitigation_rows(self.preset)
        if verdict is not None and verdict.comparison is not None:
            comparisons.append(verdict.comparison)
            conds += list(self.gate_results())
            info["gate"] = verdict.to_dict()
        return RunResults(
            preset=self.preset.name,
            model=self.model,
            metric=self.preset.eval.metric,
            conditions=conds,
            comparisons=comparisons,
            info=info,
        )

    def run_grid(self, grid: str, *, jobs: int = 1, executor: Executor | None = None) -> RunResults:
        """Every condition and claim of a grid (the CLI's `dem grid`). The conditions are built
        on `executor` (`dem.executors`); without one, here, or with ``jobs > 1`` in that many
        local worker processes. The claims are computed here from the results."""
        if jobs < 1:
            raise ConfigError("jobs", f"must be >= 1, got {jobs}")
        conds = self.conditions(grid)
        for c in conds:  # what the store holds is read here: a finished grid starts no workers
            found = self.runner.cached(c, model=self.model)
            if found is not None:
                self._results[_result_key(self.model, None, c)] = found
        missing = [c for c in conds if _result_key(self.model, None, c) not in self._results]
        if executor is None and jobs > 1 and missing:
            from dem.executors import get_executor

            executor = get_executor("local", jobs=jobs)
        if executor is not None:
            workers = getattr(executor, "jobs", None) or 1
            tasks = self.pack_tasks(missing, workers)
            self.dispatch(tasks, executor, desc=f"{grid} grid")
        else:
            self.runner.train_adapters(missing, self.model, pack=self.pack)
            self.runner.evaluate_packs(missing, self.model, pack=self.pack)
            for c in self.runner.progress(conds, desc=f"{grid} grid"):
                self.result(c)
        return self.collect([c.id for c in conds], self.claim_names(grid))


def _result_key(model: str, adapter: str | None, condition: Condition) -> str:
    """Where `Experiment` keeps a result in memory: ``model|adapter|condition id``."""
    return f"{model}|{adapter}|{condition.id}"


def _check_grid(grid: str) -> None:
    if grid not in GRIDS:
        raise ConfigError("grid", f"{grid!r} is not one of {sorted(GRIDS)}")


def _domain_of(claim_name: str) -> str:
    """``domain-medical-severe-below-normal`` -> ``medical``."""
    return claim_name.split("-")[1]
