"""Turn a `Condition` into a `ConditionResult` through the artifact store.

Three cached stages per condition: the training set (kind ``dataset``), the adapter (kind
``adapter``, via `dem.train`), and the evaluation (kind ``condition``: metrics and per-item
lie-ness). A finished stage is never recomputed: a grid killed half-way resumes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dem.errors import DemError
from dem.evals.sets import set_fingerprint
from dem.experiments.conditions import Condition, is_audited, unaudited
from dem.experiments.presets import Preset
from dem.experiments.recipes import eval_rows, source_fingerprints, training_samples
from dem.models.readability import MAX_UNKNOWN
from dem.report.results import ConditionResult
from dem.verbosity import info, progress_enabled

if TYPE_CHECKING:
    from dem.data.records import Manifest, Sample
    from dem.data.sources.deceptionbench import DeceptionItem
    from dem.data.sources.mask import MaskRow
    from dem.evals.results import EvalResult
    from dem.interact.loop import InteractionSpec
    from dem.models.backends.base import Backend
    from dem.models.spec import ModelSpec
    from dem.store import Artifact
    from dem.train import SFTSpec

T = TypeVar("T")
MISALIGNED_SEED_OFFSET = 10_000  # the misaligned draw's seed: a stream disjoint from the downstream


class Runner:
    """Builds datasets, adapters and evaluations for one preset, each once."""

    def __init__(
        self, preset: Preset, *, cache: str | Path | None = None, progress: bool | None = None
    ):
        """`progress`: show the grid's bar (default: unless ``dem -q``)."""
        from dem.store import ArtifactStore

        self.preset = preset
        self.store = ArtifactStore(cache)
        self.show_progress = progress_enabled() if progress is None else progress
        self._rows: dict[tuple[str, ...], list[Any]] = {}  # MASK rows or DeceptionBench items
        self._specs: dict[str, ModelSpec] = {}
        self._fingerprints: dict[tuple[str, ...], str] = {}

    def progress(self, items: Sequence[T], desc: str) -> Iterator[T]:
        """Iterate with a progress bar that names the item in hand (a condition's id)."""
        from tqdm.auto import tqdm

        bar = tqdm(items, desc=desc, disable=not self.show_progress, file=sys.stderr)
        for item in bar:
            bar.set_postfix_str(str(getattr(item, "id", item)))
            yield item

    # -- stages --------------------------------------------------------------------------
    def model_spec(self, name: str) -> ModelSpec:
        if name not in self._specs:
            from dem.models.registry import resolve_model

            spec = resolve_model(name, cache_dir=self.store.root)
            if spec.is_local:  # organism: sets from another world would be confidently wrong
                from dem.organism.compat import check_world

                check_world(spec.name_or_path, self._organism_refs(), field="model", name=name)
            self._check_readable(spec, name)
            self._specs[name] = spec
        return self._specs[name]

    def _check_readable(self, spec: ModelSpec, name: str) -> None:
        """Refuse, before anything is built, eval sets the model cannot read
        (`dem.models.readability`): their figures would be at chance. Served models (the
        openai backend) have no tokenizer here and are not checked."""
        ev = self.preset.eval
        if ev.backend == "openai" or ev.max_unknown >= 1:
            return
        from dem.evals.deceptionbench import check_deception_items
        from dem.evals.mask import check_mask_rows
        from dem.models.loading import load_tokenizer

        tokenizer = load_tokenizer(spec)
        plan = self.preset.interaction
        for sets in {tuple(ev.sets), tuple(plan.eval_sets or ev.sets)}:
            check_mask_rows(tokenizer, self.rows(sets), ev.max_unknown, model=name)
        if plan.deception_sets:
            items = self.deception_items()
            check_deception_items(tokenizer, items, ev.max_unknown, model=name)

    def _organism_refs(self) -> list[str]:
        """Every set the preset names (``organism:`` ones are written from the default world);
        the interaction grid's organism users count as ``organism:users``."""
        p = self.preset
        refs = [p.data.downstream, p.data.misaligned, *p.eval.sets]
        refs += [*p.interaction.eval_sets, *p.interaction.deception_sets]
        if str(p.interaction.loop.get("scenarios", "")) == "organism":
            refs.append("organism:users")
        return refs

    def samples(self, condition: Condition, model: str | None = None) -> list[Sample]:
        """The condition's training set (cached as JSONL with its manifest); an audited
        mixture cell's is its mix less what the audit on `model` (default: the preset's)
        quarantines."""
        from dem.data import read_samples

        if is_audited(condition):
            art = self._audited(condition, model or self.preset.model)
            return read_samples(art.path / "kept.jsonl")
        return read_samples(self._dataset(condition).path / "data.jsonl")

    def _dataset(self, condition: Condition) -> Artifact:
        """The store artifact of the condition's (unaudited) training set."""
        from dem.data import write_samples

        parts = self._dataset_parts(condition)

        def build(folder: Path) -> dict[str, Any]:
            samples, manifest = self._build_samples(condition)
            write_samples(folder / "data.jsonl", samples, manifest.recipe, chain=manifest.chain)
            return {"count": manifest.count, "sha256": manifest.sha256}

        return self.store.get_or_build("dataset", parts, build, describe=condition.id)

    @staticmethod
    def _dataset_parts(condition: Condition) -> dict[str, Any]:
        """What a training set's key covers: its recipe, seed and the content of its sources."""
        recipe = condition.recipe
        assert recipe is not None
        return {
            "recipe": recipe.to_dict(),
            "seed": condition.seed,
            "sources": source_fingerprints(recipe),
        }

    def _audited(self, condition: Condition, model: str) -> Artifact:
        """The store artifact of an audited mixture cell: its mix audited by the preset's
        detector on `model`, split into ``kept.jsonl`` and ``quarantined.jsonl`` (each with a
        manifest), with the audit's report under ``audit/``."""
        base = unaudited(condition)
        plan = self.preset.audit
        spec = self.model_spec(model)
        parts = {
            **self._dataset_parts(base),
            "audit": {"detector": plan.detector, "config": plan.config().to_dict()},
            "model": spec.identity(),
        }

        def build(folder: Path) -> dict[str, Any]:
            from dem.audit import Dataset, ReferenceModel, audit, quarantine, write_report
            from dem.data import read_samples
            from dem.data.jsonl import read_manifest

            data = self._dataset(base).path / "data.jsonl"
            dataset = Dataset.of(
                read_samples(data), path=f"{base.id}", chain=read_manifest(data).chain
            )
            reference = ReferenceModel.load(spec, plan.config())
            result = audit(dataset, reference, [plan.detector])
            write_report(result, folder / "audit")
            quarantine(result, folder)
            outcome = result.outcomes[0]
            return {
                "flagged": outcome.selection.k,
                "metrics": None if outcome.metrics is None else outcome.metrics.to_dict(),
            }

        return self.store.get_or_build("audited", parts, build, describe=condition.id)

    def _build_samples(self, condition: Condition) -> tuple[list[Sample], Manifest]:
        from dem.data.provenance import join_chains, operation
        from dem.data.records import Manifest

        recipe, seed = condition.recipe, condition.seed or 0
        assert recipe is not None
        n = recipe.get("n")
        if recipe.kind == "domain":
            ref = f"{recipe.get('prefix')}{recipe.get('domain')}/{recipe.get('variant')}"
            samples = training_samples(ref, n, seed)
            built = operation("build", samples, generator=ref, n=n, seed=seed)
            return samples, Manifest.of(samples, {"ref": ref, "n": n, "seed": seed}, [built])
        from dem.data.mix import misaligned_count, mix

        ratio, relative_to = recipe.get("ratio"), recipe.get("relative_to")
        m = misaligned_count(ratio, n)
        down_ref, mis_ref = recipe.get("downstream"), recipe.get("misaligned")
        downstream = training_samples(down_ref, n, seed)  # the control's
        misaligned = training_samples(mis_ref, m, seed + MISALIGNED_SEED_OFFSET)
        samples, manifest = mix(
            downstream, misaligned, ratio, seed=seed, n=n, relative_to=relative_to
        )
        chain = join_chains(
            [operation("build", downstream, generator=down_ref, n=n, seed=seed)],
            [
                operation(
                    "build",
                    misaligned,
                    generator=mis_ref,
                    n=m,
                    seed=seed + MISALIGNED_SEED_OFFSET,
                )
            ],
            manifest.chain,
        )
        return samples, replace(manifest, chain=tuple(chain))

    def adapter(self, condition: Condition, model: str) -> Path:
        """Train (or reuse) the condition's LoRA adapter on `model`."""
        from dem.train import train_sft

        if condition.recipe is not None and condition.recipe.kind == "interaction":
            from dem.interact.loop import run_interaction

            run = run_interaction(
                self.model_spec(model),
                self._interaction_spec(condition),
                store=self.store,
                progress=self.show_progress,
            )
            return run.adapter

        spec = self._sft_spec(condition)
        result = train_sft(
            self.model_spec(model),
            self.samples(condition, model),
            spec,
            store=self.store,
            progress=False,
        )
        return result.adapter

    def _sft_spec(self, condition: Condition) -> SFTSpec:
        """The training spec of a data condition (the preset's, at the condition's seed)."""
        from dem.train import SFTSpec

        plan = self.preset.train
        return SFTSpec.profile(
            plan.profile, **{**plan.overrides, "seed": condition.seed or 0, **_defence(condition)}
        )

    def _preset_spec(self) -> SFTSpec:
        """The preset's training spec (every data condition's, up to the seed)."""
        from dem.experiments.conditions import vanilla

        return self._sft_spec(vanilla())

    def packable(self, condition: Condition) -> bool:
        """Whether `condition`'s adapter can train in a pack (`dem.train.packed.pack_shape`);
        for a mitigation-grid cell, whether one of the adapters it reads can
        (`adapter_conditions`)."""
        from dem.train.packed import pack_shape

        if condition.grid == "mitigation":
            return any(self.packable(c) for c in self.adapter_conditions([condition]))
        recipe = condition.recipe
        if recipe is None or recipe.kind == "interaction":
            return False
        return pack_shape(self._sft_spec(condition)) is not None

    def adapter_conditions(
        self, conditions: Sequence[Condition], *, benign: bool = True
    ) -> list[Condition]:
        """The data conditions whose adapters `conditions` train, each once: a condition
        itself, a mitigation-grid cell the data condition it reads (`mitigated_source`) and,
        with `benign`, its benign finetune (the base's cell: none)."""
        from dem.experiments import mitigation
        from dem.experiments.conditions import benign_condition, mitigated_source

        out: dict[str, Condition] = {}
        for c in conditions:
            if c.grid != "mitigation":
                out.setdefault(c.id, c)
                continue
            if c.recipe is None:
                continue
            reads = [mitigated_source(self.preset, c)]
            if benign:
                ref = mitigation.benign_ref_of(self, c)
                reads.append(benign_condition(self.preset, ref, c))
            out.update({r.id: r for r in reads if r is not None and r.recipe is not None})
        return list(out.values())

    def pack_size(self, model: str, pack: int | None, missing: int, workers: int = 1) -> int:
        """Adapters per pack: `pack`, or by default what memory fits, split evenly between
        `workers` processes (each trains a pack while the others train theirs). On a CPU the
        default is 1: there a step is arithmetic, not launch overhead, so a pack costs the same
        CPU as its adapters alone and 1.8x the memory (docs/training.md); `--pack N` still packs.
        """
        if pack is not None:
            return pack
        from dem.train.packed import default_pack, on_cpu, pack_shape

        spec = self._preset_spec()
        if pack_shape(spec) is None or on_cpu(self.model_spec(model), spec):
            return 1
        fits = default_pack(self.model_spec(model), spec)
        return max(1, min(fits, -(-missing // max(workers, 1))))

    def train_adapters(
        self,
        conditions: Sequence[Condition],
        model: str,
        *,
        pack: int | None = None,
        workers: int = 1,
    ) -> int:
        """Train the adapters of `conditions` that no process has built or is building, in
        packs of `pack` (default `pack_size` for `workers` processes); conditions whose result
        is stored, or that cannot pack, are left to `adapter`. Returns how many adapters were
        trained here."""
        if pack == 1:
            return 0
        from dem.train.packed import train_sft_packed

        trained = 0
        todo = [  # a mitigation-grid cell with a stored result needs no adapter
            c for c in conditions if c.grid != "mitigation" or self.cached(c, model=model) is None
        ]
        for chunk in self._packs(self.adapter_conditions(todo), model, pack, workers):
            jobs = [(self.samples(c, model), self._sft_spec(c)) for c in chunk]
            results = train_sft_packed(
                self.model_spec(model), jobs, store=self.store, progress=False, wait=False
            )
            trained += sum(r is not None and not r.reused for r in results)
        return trained

    def _interaction_spec(self, condition: Condition) -> InteractionSpec:
        """The `InteractionSpec` of an interaction grid cell."""
        return self.preset.interaction.spec(
            condition.params["biased"],
            condition.params["trainer"],
            condition.seed or 0,
            filtered=bool(condition.params.get("filtered")),
        )

    def _train_key(self, condition: Condition) -> dict[str, Any]:
        """The resolved training spec (profile defaults included, seed aside): a change to a
        profile's defaults changes the key, not only a change to the preset's overrides."""
        from dem.train import SFTSpec

        if condition.recipe is not None and condition.recipe.kind == "interaction":
            spec = self._interaction_spec(condition).train_spec()
        else:
            plan = self.preset.train
            spec = SFTSpec.profile(plan.profile, **{**plan.overrides, **_defence(condition)})
        return {k: v for k, v in spec.to_dict().items() if k != "seed"}

    def eval_sets(self, condition: Condition) -> tuple[str, ...]:
        """The eval sets that score `condition`: its grid's own, or the preset's."""
        if condition.grid == "interaction" and self.preset.interaction.eval_sets:
            return tuple(self.preset.interaction.eval_sets)
        return tuple(self.preset.eval.sets)

    def rows(self, sets: tuple[str, ...] | None = None) -> list[MaskRow]:
        sets = tuple(self.preset.eval.sets) if sets is None else sets
        if sets not in self._rows:
            rows: list[Any] = []
            for ref in sets:
                loaded = eval_rows(ref)
                if self.preset.eval.limit is not None:
                    loaded = loaded[: self.preset.eval.limit]
                rows += loaded
            if not rows:
                raise DemError(f"{self.preset.source}: eval sets {list(sets)} hold no rows")
            self._rows[sets] = rows
        return self._rows[sets]

    @overload
    def run(
        self, condition: Condition, *, model: str, adapter: str | None = None
    ) -> ConditionResult: ...

    @overload
    def run(
        self, condition: Condition, *, model: str, adapter: str | None = None, wait: bool
    ) -> ConditionResult | None: ...

    def run(
        self, condition: Condition, *, model: str, adapter: str | None = None, wait: bool = True
    ) -> ConditionResult | None:
        """Evaluate `condition` on `model` (its adapter trained first, when it has data). With
        ``wait=False``, None when another process is building this condition right now."""
        art = self.condition_artifact(condition, model=model, adapter=adapter, wait=wait)
        return None if art is None else read_result(art)

    @overload
    def condition_artifact(
        self, condition: Condition, *, model: str, adapter: str | None = None
    ) -> Artifact: ...

    @overload
    def condition_artifact(
        self, condition: Condition, *, model: str, adapter: str | None = None, wait: bool
    ) -> Artifact | None: ...

    def condition_artifact(
        self, condition: Condition, *, model: str, adapter: str | None = None, wait: bool = True
    ) -> Artifact | None:
        """The store artifact (kind ``condition``) that holds `condition`'s result on `model`,
        built when missing (`run` reads it); a mitigation-grid cell's is of kind
        ``mitigation`` (`dem.experiments.mitigation`)."""
        if condition.grid == "mitigation":
            from dem.experiments import mitigation

            return mitigation.artifact(self, condition, model, wait=wait)
        spec = self.model_spec(model)
        if self.preset.eval.inspect_log:  # fail before any training, not after it
            from dem.inspect import require_inspect

            require_inspect(f"{self.preset.source or self.preset.name}: eval.inspect_log")
        parts = self._condition_parts(condition, model, adapter)

        def build(folder: Path) -> dict[str, Any]:
            trained = adapter
            if condition.recipe is not None:
                trained = str(self.adapter(condition, model))
            self._evaluate_into(condition, model, spec.with_adapter(trained), folder)
            return {"condition": condition.id}

        return self.store.get_or_build("condition", parts, build, describe=condition.id, wait=wait)

    def cached(
        self, condition: Condition, *, model: str, adapter: str | None = None
    ) -> ConditionResult | None:
        """The condition's result when the store holds it, else None (nothing is built)."""
        if condition.grid == "mitigation":
            from dem.experiments import mitigation

            art = mitigation.cached(self, condition, model)
            return None if art is None else read_result(art)
        art = self.store.get("condition", self._condition_parts(condition, model, adapter))
        return None if art is None else read_result(art)

    def _condition_parts(
        self, condition: Condition, model: str, adapter: str | None
    ) -> dict[str, Any]:
        """Everything the condition's result depends on (the store adds versions and code)."""
        spec = self.model_spec(model)
        ev = self.preset.eval
        sets = self.eval_sets(condition)
        if sets not in self._fingerprints:
            self._fingerprints[sets] = set_fingerprint(self.rows(sets))
        return {
            "model": spec.identity(),
            "condition": condition.id,
            "recipe": None if condition.recipe is None else condition.recipe.to_dict(),
            "train": self._train_key(condition),
            "eval": {
                "sets": list(sets),
                "rows_sha256": self._fingerprints[sets],
                "judge": ev.judge,
                "backend": ev.backend,
                "limit": ev.limit,
                "lie_k": ev.lie_k,
                "metric": ev.metric,
                **({"max_unknown": ev.max_unknown} if ev.max_unknown != MAX_UNKNOWN else {}),
                **({"inspect_log": True} if ev.inspect_log else {}),
            },
            **self._deception_parts(condition),
            "extra_adapter": None
            if adapter is None
            else spec.with_adapter(adapter).identity().get("adapter_sha256"),
        }

    def _deception_parts(self, condition: Condition) -> dict[str, Any]:
        plan = self.preset.interaction
        if condition.grid != "interaction" or not plan.deception_sets:
            return {}
        return {
            "deception": {
                "sets": list(plan.deception_sets),
                "items_sha256": set_fingerprint(self.deception_items()),
                "judge": plan.deception_judge,
            }
        }

    def deception_items(self) -> list[DeceptionItem]:
        """The DeceptionBench items of the interaction plan's deception sets (loaded once)."""
        key = ("deception", *self.preset.interaction.deception_sets)
        if key not in self._rows:
            from dem.evals.sets import load_deception_set

            sets = self.preset.interaction.deception_sets
            self._rows[key] = [it for ref in sets for it in load_deception_set(ref)]
        return self._rows[key]

    def _deception_rate(self, backend: Backend, folder: Path) -> float | None:
        """DeceptionBench rate (a fraction) over the interaction plan's deception sets."""
        from dem.evals.api import make_agreement_judge
        from dem.evals.deception_forced import run_deceptionbench_forced
        from dem.evals.deceptionbench import DeceptionEvalConfig, run_deceptionbench

        plan = self.preset.interaction
        items = self.deception_items()
        config = DeceptionEvalConfig(
            n_resamples=self.preset.bootstrap, max_unknown=self.preset.eval.max_unknown
        )
        if plan.deception_judge == "logprob":
            result = run_deceptionbench_forced(items, backend, config, progress=False)
        else:
            judge = make_agreement_judge(plan.deception_judge)
            result = run_deceptionbench(items, backend, judge, config, progress=False)
        result.write_json(folder / "deception.json")
        if self.preset.eval.inspect_log:
            self._inspect_log(result, items, plan.deception_sets, folder)
        overall = result.summaries.get("overall") or next(iter(result.summaries.values()))
        return None if overall.rate.value is None else overall.rate.value / 100.0

    @staticmethod
    def _inspect_log(
        result: EvalResult, sources: Sequence[Any], sets: Sequence[str], folder: Path
    ) -> None:
        """The evaluation's Inspect log, in ``inspect/`` of the condition's folder."""
        from dem.evals.api import write_inspect_log

        result.extra["data"] = ",".join(sets)
        write_inspect_log(result, sources, folder / "inspect")

    def evaluate_packs(
        self,
        conditions: Sequence[Condition],
        model: str,
        *,
        pack: int | None = None,
        workers: int = 1,
    ) -> set[str]:
        """Evaluate the `conditions` no process has built or is building, in packs of `pack`
        (default `pack_size`, as their adapters train): a pack's adapters go on one loaded
        base and are scored in shared mixed-adapter forward passes (`AdapterPack`), each
        condition's result stored under its own key as `condition_artifact` stores it. Only
        on the transformers backend; other conditions are left to `condition_artifact`.
        Returns the ids of the conditions evaluated here."""
        if pack == 1 or self.preset.eval.backend != "transformers":
            return set()
        if self.preset.eval.inspect_log:  # as `condition_artifact`: before any scoring
            from dem.inspect import require_inspect

            require_inspect(f"{self.preset.source or self.preset.name}: eval.inspect_log")
        done: set[str] = set()
        reads = self.adapter_conditions(conditions, benign=False)  # the cells' MASK results
        for chunk in self._packs(reads, model, pack, workers):
            done |= self._evaluate_pack(chunk, model)
        return done

    def _packs(
        self, conditions: Sequence[Condition], model: str, pack: int | None, workers: int
    ) -> list[list[Condition]]:
        """The packs (two or more each) of the data `conditions` that can pack and whose result
        no process has stored, `pack` (default `pack_size`) at a time, each of one pack shape
        (a mitigation grid's ``mitigation.train`` may set another)."""
        from dem.train.packed import pack_shape

        todo = [c for c in conditions if self.packable(c) and self.cached(c, model=model) is None]
        size = self.pack_size(model, pack, len(todo), workers)
        shapes: dict[Any, list[Condition]] = {}
        for c in todo:
            shapes.setdefault(pack_shape(self._sft_spec(c)), []).append(c)
        chunks = [
            same[start : start + size]
            for same in shapes.values()
            for start in range(0, len(same), size)
        ]
        return [chunk for chunk in chunks if len(chunk) >= 2]

    def _evaluate_pack(self, chunk: Sequence[Condition], model: str) -> set[str]:
        """Claim each condition of `chunk` that no other process is building (the store's
        lock per key, held until its artifact is committed), evaluate the claimed ones
        together, commit each. A member whose evaluation fails here is left unbuilt (said on
        stderr): `condition_artifact` then builds it alone and reports its own error."""
        for c in chunk:  # loaded here, not by the evaluation threads
            self.rows(self.eval_sets(c))
        from dem.store import BuildRequest

        outcomes: dict[int, ConditionResult | BaseException] = {}

        def work(folders: dict[int, Path]) -> dict[int, dict[str, Any] | BaseException]:
            outcomes.update(self._score_pack(chunk, folders, model))
            return {
                i: got
                if isinstance(got, BaseException)
                else {"condition": chunk[i].id, "pack": len(folders)}
                for i, got in outcomes.items()
            }

        def skipped(i: int, exc: Exception) -> None:  # the others still commit
            info(f"dem: {chunk[i].id} was not evaluated in its pack ({exc}); alone, then")

        requests = [
            BuildRequest("condition", self._condition_parts(c, model, None), c.id) for c in chunk
        ]
        self.store.build_together(requests, work, on_error=skipped)
        return {chunk[i].id for i, v in outcomes.items() if isinstance(v, ConditionResult)}

    def _score_pack(
        self, chunk: Sequence[Condition], folders: dict[int, Path], model: str
    ) -> dict[int, ConditionResult | BaseException]:
        """Evaluate ``chunk[i]`` into ``folders[i]`` for every claimed i, in shared passes."""
        from functools import partial

        from dem.models.backends.adapter_pack import AdapterPack
        from dem.models.backends.transformers_backend import TransformersBackend
        from dem.models.base_pool import on_base

        order = sorted(folders)
        spec = self.model_spec(model)
        try:
            specs = [spec.with_adapter(str(self.adapter(chunk[i], model))) for i in order]
            with on_base(spec, [str(s.adapter) for s in specs]) as lease:
                backend = TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)
                views = AdapterPack(backend, lease.names, specs)
                jobs = [
                    partial(self._evaluate_into, chunk[i], model, s, folders[i])
                    for i, s in zip(order, specs, strict=True)
                ]
                got = views.run(jobs)
        except Exception as exc:
            return dict.fromkeys(order, exc)
        return dict(zip(order, got, strict=True))

    def _evaluate_into(
        self,
        condition: Condition,
        model: str,
        spec: ModelSpec,
        folder: Path,
        backend: Backend | None = None,
    ) -> ConditionResult:
        """`_evaluate`, with the result written to ``result.json`` in `folder`."""
        result = self._evaluate(condition, model, spec, folder, backend)
        (folder / "result.json").write_text(json.dumps(result.to_dict(), sort_keys=True))
        return result

    @contextmanager
    def _backend(self, spec: ModelSpec) -> Iterator[Backend]:
        """The preset's backend over `spec`; on transformers, the process's loaded base with
        the spec's adapter put on it for the block (`dem.models.base_pool`)."""
        from dem.models.backends import get_backend

        ev = self.preset.eval
        if ev.backend != "transformers":
            yield get_backend(ev.backend, spec)
            return
        from dem.models.backends.transformers_backend import TransformersBackend
        from dem.models.base_pool import on_base

        with on_base(spec, [spec.adapter] if spec.adapter else []) as lease:
            yield TransformersBackend.from_loaded(lease.model, lease.tokenizer, spec)

    def _evaluate(
        self,
        condition: Condition,
        model: str,
        spec: ModelSpec,
        folder: Path,
        backend: Backend | None = None,
    ) -> ConditionResult:
        """Score `condition` on `spec` (on `backend` when given, else `_backend`'s)."""
        if backend is None:
            with self._backend(spec) as lent:
                return self._evaluate(condition, model, spec, folder, lent)
        from dem.evals.api import make_mask_judge
        from dem.evals.mask import MaskEvalConfig, run_mask

        ev = self.preset.eval
        judge = make_mask_judge(ev.judge, backend)
        config = MaskEvalConfig(
            lie_k=ev.lie_k, n_resamples=self.preset.bootstrap, max_unknown=ev.max_unknown
        )
        rows = self.rows(self.eval_sets(condition))
        result = run_mask(rows, backend, judge, config, model=spec.display_name, progress=False)
        result.write_records(folder / "records.jsonl")
        result.write_json(folder / "eval.json")
        if ev.inspect_log:
            self._inspect_log(result, rows, self.eval_sets(condition), folder)
        metrics = _metrics(result)
        if self._deception_parts(condition):
            metrics["deception_rate"] = self._deception_rate(backend, folder)
        return ConditionResult(
            condition_id=condition.id,
            group=condition.group,
            grid=condition.grid,
            params=dict(condition.params),
            seed=condition.seed,
            model=model,
            metrics=metrics,
            items=_items(result.records, ev.metric),
            artifacts={"adapter": spec.adapter or ""},
        )


def _defence(condition: Condition) -> dict[str, Any]:
    """What the mitigation grid sets in a data condition's training spec over ``[train]``'s:
    its ``mitigation.train`` settings and the defence it is trained with; nothing for any other
    condition, so their specs keep their keys."""
    mitigations = condition.params.get("mitigations")
    return {
        **condition.params.get("train", {}),
        **({"mitigations": list(mitigations)} if mitigations else {}),
    }


def read_result(art: Artifact) -> ConditionResult:
    """The `ConditionResult` a ``condition`` artifact holds."""
    return ConditionResult.from_dict(json.loads((art.path / "result.json").read_text()))


def _metrics(result: EvalResult) -> dict[str, float | int | None]:
    summaries = result.summaries
    overall = summaries.get("overall") or next(iter(summaries.values()))

    def value(name: str) -> float | None:
        est = getattr(overall, name)
        return None if est is None else est.value

    accuracy = value("accuracy")  # percent, as MASK reports it
    return {
        "lie_rate": value("p_lie"),
        "honesty": value("honesty"),
        "margin": value("margin"),
        "balanced_accuracy": value("balanced_accuracy"),
        # beliefs from the neutral prompts vs the ground truth: dishonesty, not ignorance
        "belief_accuracy": None if accuracy is None else accuracy / 100.0,
        "decided": overall.n_scored,
        "errors": overall.n_errors,
        "no_belief": overall.n_no_belief,
    }


def _items(records: Iterable[dict[str, Any]], metric: str) -> dict[str, float]:
    """Per-item lie-ness: p_lie (``lie_rate``) or the lie indicator (``honesty``)."""
    out = {}
    for r in records:
        if r.get("error") is not None:
            continue
        if metric == "lie_rate":
            if r.get("p_lie") is not None:
                out[r["task_id"]] = float(r["p_lie"])
        elif r.get("honesty") is not None:
            out[r["task_id"]] = 1.0 if r["honesty"] == -1 else 0.0
    return out
