"""`Experiment`: a preset bound to models and a store; the one object both front doors use.

`pytest_plugin` and `cli` call only this: conditions and claims of a grid, the result of a
condition (cached), the verdict of a claim, and whole-grid runs that end in `RunResults`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dem.errors import ConfigError, DemError
from dem.experiments import analysis
from dem.experiments.conditions import (
    GRIDS,
    Condition,
    domain_condition,
    interaction_condition,
    mix_condition,
    ratio_label,
    vanilla,
)
from dem.experiments.presets import Preset, load_preset
from dem.report.results import Comparison, ConditionResult, RunResults


@dataclass
class Experiment:
    """A preset, the model under test (+ adapter), the gate baseline, and the artifact store."""

    preset: Preset
    model: str
    adapter: str | None = None
    baseline: str | None = None
    baseline_adapter: str | None = None
    cache: str | None = None
    _results: dict[str, ConditionResult] = field(default_factory=dict, repr=False)
    _runner: Any = field(default=None, repr=False)

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
    ) -> Experiment:
        """Validate everything cheaply (no model is loaded): bad names fail here."""
        p = load_preset(preset, model=model, seeds=None if seeds is None else tuple(seeds))
        if backend or judge:
            p = replace(
                p,
                eval=replace(
                    p.eval, backend=backend or p.eval.backend, judge=judge or p.eval.judge
                ),
            )
        from dem.models.registry import check_model_name

        check_model_name(p.model, field="--dem-model")
        if baseline is not None:
            check_model_name(baseline, field="--dem-baseline")
        from pathlib import Path

        for option, folder in (
            ("--dem-adapter", adapter),
            ("--dem-baseline-adapter", baseline_adapter),
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
        )

    # -- grids ---------------------------------------------------------------------------
    def conditions(self, grid: str) -> list[Condition]:
        if grid not in GRIDS:
            raise ConfigError("grid", f"{grid!r} is not one of {sorted(GRIDS)}")
        return GRIDS[grid](self.preset)

    def claim_names(self, grid: str) -> list[str]:
        p = self.preset
        if grid == "mix_ratio":
            return [
                f"mix-from-{ratio_label(p.mix_ratio.threshold_ratio)}-below-control",
                "mix-trend",
            ]
        if grid == "domain":
            return [_domains_claim(v, p.domain.min_domains) for v in p.domain.variants]
        if grid == "interaction":
            lab = ratio_label(p.interaction.threshold)
            return [
                name
                for t in p.interaction.trainers
                for name in (f"interaction-{t}-from-{lab}-below-unbiased", f"interaction-{t}-trend")
            ]
        raise ConfigError("grid", f"{grid!r} has no claims")

    def reported_claims(self, grid: str) -> list[str]:
        """Claims computed for the report but not asserted: each ratio (or biased share)
        alone vs its reference (a single cell is underpowered at smoke sizes; the asserted
        claim pools the cells from the threshold on)."""
        if grid == "mix_ratio":
            return [f"mix-{ratio_label(r)}-below-control" for r in self.preset.mix_ratio.ratios]
        if grid == "interaction":
            plan = self.preset.interaction
            lab = ratio_label(plan.threshold)
            return [
                f"interaction-{t}-{ratio_label(b)}-below-unbiased"
                for t in plan.trainers
                for b in plan.biased_fractions
                if b > 0
            ] + [
                f"interaction-{t}-{lab}-below-filtered"
                for t in plan.trainers
                if plan.monitor_filter
            ]
        if grid == "domain":
            dom = self.preset.domain
            return [f"domain-{d}-{v}-below-normal" for v in dom.variants for d in dom.domains]
        return []

    # -- results -------------------------------------------------------------------------
    @property
    def runner(self) -> Any:
        if self._runner is None:
            from dem.experiments.runner import Runner

            self._runner = Runner(self.preset, cache=self.cache)
        return self._runner

    def result(
        self, condition: Condition, *, model: str | None = None, adapter: str | None = None
    ) -> ConditionResult:
        """The condition's result: from memory, from the store, or built (once)."""
        model = model or self.model
        key = f"{model}|{adapter}|{condition.id}"
        if key not in self._results:
            self._results[key] = self.runner.run(condition, model=model, adapter=adapter)
        return self._results[key]

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

    def _seeds(self, make: Any) -> list[ConditionResult]:
        return self._group([make(s) for s in self.preset.seeds])

    def claim(self, name: str) -> Comparison:
        """Compute one claim of a grid (building whatever results it needs)."""
        p = self.preset
        mix = p.mix_ratio

        def mix_seeds(r: float) -> list[ConditionResult]:
            return self._seeds(lambda s: mix_condition(p, r, s))

        if name == "mix-trend":
            doses = [(r, mix_seeds(r)) for r in (0.0, *mix.ratios)]
            return analysis.trend(
                name,
                "mix_ratio",
                p.eval.metric,
                doses,
                confidence=mix.confidence,
                n_boot=p.bootstrap,
            )
        if name == f"mix-from-{ratio_label(mix.threshold_ratio)}-below-control":
            pooled = [res for r in mix.ratios if r >= mix.threshold_ratio for res in mix_seeds(r)]
            return replace(
                self._compare(name, "mix_ratio", pooled, mix_seeds(0.0)),
                treatment=f"mix >= {ratio_label(mix.threshold_ratio)}",
                detail="ratios pooled, each seed a replicate",
            )
        for r in mix.ratios:
            if name == f"mix-{ratio_label(r)}-below-control":
                return self._compare(name, "mix_ratio", mix_seeds(r), mix_seeds(0.0))
        if name.startswith("interaction-"):
            return self._interaction_claim(name)
        for v in p.domain.variants:
            if name == _domains_claim(v, p.domain.min_domains):
                return self._domains_claim(name, v)
        for d in p.domain.domains:
            for v in p.domain.variants:
                if name == f"domain-{d}-{v}-below-normal":
                    treated = self._seeds(lambda s, d=d, v=v: domain_condition(p, d, v, s))
                    normal = self._seeds(lambda s, d=d: domain_condition(p, d, "normal", s))
                    return self._compare(name, "domain", treated, normal)
        raise ConfigError("claim", f"unknown claim {name!r}")

    def _domains_claim(self, name: str, variant: str) -> Comparison:
        """`variant` below normal in at least ``min_domains`` domains: the comparison of the
        domain with the ``min_domains``-th highest interval lower end (it passes exactly when
        that many domains pass), naming the domains that pass."""
        plan = self.preset.domain
        per = {d: self.claim(f"domain-{d}-{variant}-below-normal") for d in plan.domains}
        ranked = sorted(per, key=lambda d: per[d].ci_low, reverse=True)
        kth = ranked[plan.min_domains - 1]
        passing = [d for d in plan.domains if per[d].passed]
        return replace(
            per[kth],
            name=name,
            treatment=f"{variant} ({kth}: domain {plan.min_domains} of {len(per)} ranked by CI)",
            reference="normal",
            detail=f"passing in {len(passing)} of {len(per)}: {', '.join(passing) or 'none'}",
        )

    def _interaction_claim(self, name: str) -> Comparison:
        plan = self.preset.interaction

        lab = ratio_label(plan.threshold)

        def cells(trainer: str, b: float, filtered: bool = False) -> list[ConditionResult]:
            return self._seeds(
                lambda s: interaction_condition(self.preset, b, trainer, s, filtered=filtered)
            )

        for t in plan.trainers:
            if name == f"interaction-{t}-trend":
                doses = [(b, cells(t, b)) for b in sorted(plan.biased_fractions)]
                return analysis.trend(
                    name,
                    "interaction",
                    self.preset.eval.metric,
                    doses,
                    confidence=plan.confidence,
                    n_boot=self.preset.bootstrap,
                )
            if name == f"interaction-{t}-from-{lab}-below-unbiased":
                pooled = [
                    r for b in plan.biased_fractions if b >= plan.threshold for r in cells(t, b)
                ]
                return replace(
                    self._compare(name, "interaction", pooled, cells(t, 0.0)),
                    treatment=f"{t}, b >= {plan.threshold:g}",
                    detail="biased shares pooled, each seed a replicate",
                )
            for b in plan.biased_fractions:
                if b > 0 and name == f"interaction-{t}-{ratio_label(b)}-below-unbiased":
                    return self._compare(name, "interaction", cells(t, b), cells(t, 0.0))
            if name == f"interaction-{t}-{lab}-below-filtered":
                filtered = cells(t, plan.threshold, filtered=True)
                return self._compare(name, "interaction", cells(t, plan.threshold), filtered)
        raise ConfigError("claim", f"unknown claim {name!r}")

    def _compare(
        self,
        name: str,
        grid: str,
        treated: Sequence[ConditionResult],
        reference: Sequence[ConditionResult],
    ) -> Comparison:
        """`treated` less honest than `reference`, with the grid's threshold and confidence."""
        plan = {
            "mix_ratio": self.preset.mix_ratio,
            "interaction": self.preset.interaction,
        }.get(grid, self.preset.domain)
        return analysis.compare(
            name,
            grid,
            self.preset.eval.metric,
            treated,
            reference,
            threshold=plan.min_effect,
            confidence=plan.confidence,
            n_boot=self.preset.bootstrap,
        )

    def gate_results(self) -> tuple[ConditionResult, ConditionResult]:
        """(baseline, candidate) scored on the preset's eval sets, labelled for reports."""
        base = self.result(
            vanilla(), model=self.baseline or self.preset.model, adapter=self.baseline_adapter
        )
        cand = self.result(vanilla(), model=self.model, adapter=self.adapter)
        for r, who in ((base, "baseline"), (cand, "candidate")):
            if r.metrics.get("errors"):
                raise DemError(
                    f"gate: the judge failed on {r.metrics['errors']} items of the "
                    f"{who} ({r.model}); judge failures are errors, not verdicts"
                )
        label = self.model + (f"+{self.adapter}" if self.adapter else "")
        return (
            replace(base, group="baseline", grid="gate", condition_id="baseline"),
            replace(cand, group="candidate", grid="gate", condition_id="candidate", model=label),
        )

    def gate(self) -> Comparison:
        """Candidate (model + adapter) against the baseline, on the preset's eval sets.

        Fails only when the honesty loss exceeds ``gate.max_drop`` with the stated confidence.
        """
        p = self.preset
        base, cand = self.gate_results()
        decided = len(analysis.shared_items([base], [cand]))
        if decided < p.gate.min_decidable:
            raise DemError(
                f"gate: only {decided} items were decided for both models; the preset "
                f"needs at least {p.gate.min_decidable}"
            )
        cmp = analysis.compare(
            "gate",
            "gate",
            p.eval.metric,
            [cand],
            [base],
            threshold=p.gate.max_drop,
            confidence=p.gate.confidence,
            n_boot=p.bootstrap,
        )
        return replace(
            cmp,
            passed=not cmp.passed,
            detail=f"fails when the CI's lower end exceeds max_drop {p.gate.max_drop}",
        )

    # -- runs ----------------------------------------------------------------------------
    def _build_in_workers(self, conds: Sequence[Condition], jobs: int, desc: str) -> None:
        import multiprocessing
        import os
        import sys
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from tqdm.auto import tqdm

        from dem.verbosity import get_verbosity

        threads = max(1, (os.cpu_count() or 1) // jobs)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            jobs,
            mp_context=context,
            initializer=_worker_init,
            initargs=(threads, get_verbosity()),
        ) as pool:
            futures = {
                pool.submit(_build_condition, self.preset, self.model, self.cache, c): c
                for c in conds
            }
            bar = tqdm(
                total=len(futures),
                desc=desc,
                file=sys.stderr,
                disable=not self.runner.show_progress,
            )
            for done in as_completed(futures):
                done.result()  # re-raises a worker's error here
                bar.set_postfix_str(futures[done].id)
                bar.update()
            bar.close()

    def collect(self, condition_ids: Sequence[str], claims: Sequence[str]) -> RunResults:
        """`RunResults` for the named conditions and claims (all already in the store)."""
        wanted = set(condition_ids)
        conds: list[ConditionResult] = []
        for grid in GRIDS:
            for c in self.conditions(grid):
                if c.id in wanted and all(r.condition_id != c.id for r in conds):
                    conds.append(self.result(c))
        comparisons = [
            self.gate() if name == "gate" else self.claim(name) for name in dict.fromkeys(claims)
        ]
        for grid in dict.fromkeys(c.grid for c in comparisons):
            comparisons += [
                replace(self.claim(name), detail="reported, not asserted")
                for name in self.reported_claims(grid)
            ]
        if any(cmp.grid == "gate" for cmp in comparisons):
            conds += list(self.gate_results())
        return RunResults(
            preset=self.preset.name,
            model=self.model,
            metric=self.preset.eval.metric,
            conditions=conds,
            comparisons=comparisons,
            info={
                "seeds": list(self.preset.seeds),
                "preset_file": self.preset.source,
                "relative_to": self.preset.data.relative_to,
            },
        )

    def run_grid(self, grid: str, *, jobs: int = 1) -> RunResults:
        """Every condition and claim of a grid (the CLI's `dem grid`); with ``jobs > 1`` the
        conditions are built in that many worker processes first (each on its share of the CPU
        threads, all through the same store), then collected here."""
        if jobs < 1:
            raise ConfigError("jobs", f"must be >= 1, got {jobs}")
        conds = self.conditions(grid)
        if jobs > 1:
            self._build_in_workers(conds, jobs, desc=f"{grid} grid")
        for c in self.runner.progress(conds, desc=f"{grid} grid" if jobs == 1 else "collect"):
            self.result(c)
        return self.collect([c.id for c in conds], self.claim_names(grid))


def _domains_claim(variant: str, min_domains: int) -> str:
    return f"domain-{variant}-below-normal-in-{min_domains}-domains"


def _worker_init(threads: int, verbosity: int) -> None:
    """A grid worker: its share of the CPU threads, and the parent's ``-q``/``-v``."""
    import torch

    from dem.verbosity import set_verbosity

    torch.set_num_threads(threads)
    set_verbosity(verbosity)


def _build_condition(preset: Preset, model: str, cache: str | None, condition: Condition) -> None:
    """Worker body of `Experiment.run_grid(jobs > 1)`: build one condition into the store."""
    from dem.experiments.runner import Runner

    Runner(preset, cache=cache, progress=False).run(condition, model=model)
