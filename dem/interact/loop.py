"""The interaction loop: collect rated conversations, select, self-train; cached and resumable.

One iteration: the current policy (base model, or base + the previous iteration's adapter) talks
with a seeded population of users (`dem.interact.profiles`), every reply is judged and rated
(`dem.interact.rollout`), the optional monitor drops flagged users (`dem.interact.monitor`),
the top / bottom trajectories are selected (`dem.interact.selection`), and a fresh LoRA adapter
is trained on the base model with everything selected so far (SFT or KTO through `dem.train`).
Rollouts, selections and adapters are artifacts of the store (kinds ``rollout``,
``selection``, ``adapter``): a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dem.errors import ConfigError, DataError
from dem.fields import help_field
from dem.interact.profiles import ORGANISM
from dem.interact.selection import TRAINERS
from dem.interact.users import SCRIPTED_SCORES
from dem.validation import check_fields

STANCE_JUDGES = ("lexical", "llm:<model>", "choice:<model>")
# Round i of a loop samples with seed + ROUND_SEED_STRIDE * i: a prime stride keeps the rounds'
# sampling streams apart from the next seeds of the same grid.
ROUND_SEED_STRIDE = 7919


@dataclass(frozen=True)
class InteractionSpec:
    """One self-training run on a user population: who the users are, how they talk and rate,
    what is selected and how it is trained. Validated eagerly."""

    scenarios: str = help_field(
        "'organism' (the model organism's world), 'dem:therapist' (shipped) or a scenario JSON "
        "file",
        "dem:therapist",
    )
    users: int = help_field("users in the population (one conversation each)", 200)
    profile_writer: str | None = help_field(
        "model that writes each user's context and opening message from its scenario; "
        "None: seeded templates (scenario files only)",
        None,
    )
    biased_fraction: float = help_field("share b of biased users, in [0, 1]", 0.1)
    rounds: int = help_field("assistant replies per conversation (the study: 2)", 2)
    user_model: str = help_field(
        "user simulator: 'scripted' (rates by the honesty judge's stance) or 'llm:<model>'",
        "scripted",
    )
    stance_judge: str = help_field(
        "judge of each reply's stance: 'lexical', 'llm:<model>' (generates, parses) or "
        "'choice:<model>' (forced choice by log-prob)",
        "lexical",
    )
    trainer: str = help_field(
        "self-training method: 'sft' (top k) or 'kto' (top and bottom k)", "sft"
    )
    top_fraction: float = help_field("k as a share of the successful trajectories", 0.25)
    iterations: int = help_field("collect-and-train iterations", 1)
    temperature: float = help_field("assistant sampling temperature in rollouts", 1.0)
    max_new_tokens: int = help_field("longest assistant reply in rollouts, in tokens", 256)
    batch_size: int = help_field("conversations per generation batch", 32)
    train_profile: str = help_field(
        "dem.train profile: 'interaction', 'paper' or 'cpu'", "interaction"
    )
    train_overrides: dict[str, Any] = help_field(
        "fields of the trainer's spec (SFTSpec / KTOSpec) overriding the profile",
        default_factory=dict,
    )
    filter_flagged: bool = help_field(
        "drop the users the feedback monitor flags as biased before selection", False
    )
    seed: int = help_field("seed of the population, the rollouts, the selection and training", 0)

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, msg: str) -> None:
            if not ok:
                raise ConfigError(name, msg)

        check_fields(self)

        need(isinstance(self.users, int) and self.users >= 2, "users", "needs at least 2 users")
        need(0.0 <= self.biased_fraction <= 1.0, "biased_fraction", "must be in [0, 1]")
        need(isinstance(self.rounds, int) and self.rounds >= 1, "rounds", "must be >= 1")
        need(self.trainer in TRAINERS, "trainer", f"{self.trainer!r} is not one of {TRAINERS}")
        need(0.0 < self.top_fraction <= 1.0, "top_fraction", "must be in (0, 1]")
        need(
            self.trainer != "kto" or self.top_fraction <= 0.5,
            "top_fraction",
            "KTO needs disjoint top and bottom k: at most 0.5",
        )
        need(
            isinstance(self.iterations, int) and self.iterations >= 1, "iterations", "must be >= 1"
        )
        need(self.temperature >= 0, "temperature", "must be >= 0")
        need(self.max_new_tokens >= 1, "max_new_tokens", "must be >= 1")
        need(self.batch_size >= 1, "batch_size", "must be >= 1")
        need(self.seed >= 0, "seed", "must be >= 0")
        kind, _, model = self.user_model.partition(":")
        need(
            self.user_model == "scripted" or (kind == "llm" and bool(model)),
            "user_model",
            f"{self.user_model!r} is not 'scripted' or 'llm:<model>'",
        )
        kind, _, model = self.stance_judge.partition(":")
        need(
            self.stance_judge == "lexical" or (kind in ("llm", "choice") and bool(model)),
            "stance_judge",
            f"{self.stance_judge!r} is not one of {STANCE_JUDGES}",
        )
        need(
            self.profile_writer is None or self.scenarios != ORGANISM,
            "profile_writer",
            "the organism's profiles come from its world; a writer needs a scenario file",
        )
        if self.scenarios != ORGANISM:
            from dem.interact.scenarios import scenario_file

            try:
                scenario_file(self.scenarios)
            except DataError as exc:
                raise ConfigError(
                    "scenarios", f"{self.scenarios!r} is neither 'organism' nor a file ({exc})"
                ) from None
        try:
            self.train_spec()
        except ConfigError as exc:
            name = "train_profile" if exc.field == "profile" else f"train_overrides.{exc.field}"
            raise ConfigError(name, str(exc).partition(": ")[2]) from None

    def train_spec(self) -> Any:
        from dem.train import KTOSpec, SFTSpec

        cls = SFTSpec if self.trainer == "sft" else KTOSpec
        return cls.profile(self.train_profile, **{**self.train_overrides, "seed": self.seed})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InteractionRun:
    """What a run produced: the final adapter and, per iteration, its artifacts and figures."""

    adapter: Path
    iterations: list[dict[str, Any]] = field(default_factory=list)


def _scenario_id(spec: InteractionSpec) -> str:
    if spec.scenarios == ORGANISM:
        return ORGANISM
    from dem.data.records import sha256_text
    from dem.interact.scenarios import scenario_file
    from dem.textfile import read_text

    return sha256_text(read_text(scenario_file(spec.scenarios)))


def read_trajectories(folder: str | Path) -> list[Any]:
    """The trajectories of a rollout artifact folder (``trajectories.jsonl``)."""
    from dem.data.jsonl import iter_jsonl
    from dem.errors import DataError
    from dem.interact.rollout import Trajectory

    path = Path(folder) / "trajectories.jsonl"
    if not path.is_file():
        raise DataError("no trajectories.jsonl: not a rollout folder", path)
    out = []
    for n, row in iter_jsonl(path):
        try:
            out.append(Trajectory.from_dict(row))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"bad trajectory: {exc}", path, n) from None
    return out


def rollouts(
    policy: Any, spec: InteractionSpec, iteration: int, store: Any, progress: bool
) -> tuple[list[Any], Any]:
    """The iteration's trajectories and their artifact (kind ``rollout``). Shared by every
    trainer: SFT and KTO cells of the same population and seed roll out once."""
    parts = {
        "policy": policy.identity(),
        "population": {
            "scenarios": _scenario_id(spec),
            "users": spec.users,
            "biased_fraction": spec.biased_fraction,
            "rounds": spec.rounds,
            "seed": spec.seed,
            "profile_writer": spec.profile_writer,
        },
        "user_model": spec.user_model,
        "scripted_scores": SCRIPTED_SCORES if spec.user_model == "scripted" else None,
        "stance_judge": spec.stance_judge,
        "generation": {
            "temperature": spec.temperature,
            "max_new_tokens": spec.max_new_tokens,
        },
        "iteration": iteration,
    }

    def build(folder: Path) -> dict[str, Any]:
        from dem.evals.api import make_mask_judge
        from dem.interact.monitor import monitor
        from dem.interact.profiles import make_profiles
        from dem.interact.rollout import collect, summarize
        from dem.interact.users import make_users
        from dem.models.backends import get_backend
        from dem.models.backends.base import GenerationConfig

        source = spec.scenarios
        writer = None
        if spec.profile_writer is not None:
            from dem.evals.api import BackendChoice, open_backend

            writer = open_backend(spec.profile_writer, BackendChoice())
        profiles = make_profiles(
            source,
            spec.users,
            spec.biased_fraction,
            seed=spec.seed,
            rounds=spec.rounds,
            writer=writer,
        )
        backend = get_backend("transformers", policy, batch_size=spec.batch_size)
        judge = make_mask_judge(spec.stance_judge, backend)
        users = make_users(spec.user_model, seed=spec.seed)
        gen = GenerationConfig(
            max_new_tokens=spec.max_new_tokens,
            temperature=spec.temperature,
            seed=spec.seed + ROUND_SEED_STRIDE * iteration,
        )
        found = collect(
            backend, profiles, users, judge, rounds=spec.rounds, generation=gen, progress=progress
        )
        with (folder / "trajectories.jsonl").open("w", encoding="utf-8") as fh:
            for t in found:
                fh.write(json.dumps(t.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
        with (folder / "profiles.jsonl").open("w", encoding="utf-8") as fh:
            for p in profiles:
                fh.write(json.dumps(p.to_dict(), sort_keys=True, ensure_ascii=False) + "\n")
        summary = {**summarize(found), "monitor": monitor(found).to_dict()}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
        return summary

    art = store.get_or_build("rollout", parts, build, describe=f"b={spec.biased_fraction}")
    return read_trajectories(art.path), art


def run_interaction(
    model: Any, spec: InteractionSpec, *, store: Any = None, progress: bool = True
) -> InteractionRun:
    """Run `spec` on `model` (a name or a `ModelSpec` without adapter); returns the adapter."""
    from dem.data import read_samples, write_samples
    from dem.data.records import Manifest
    from dem.interact.monitor import drop_flagged, monitor
    from dem.interact.selection import select
    from dem.models.registry import resolve_model
    from dem.store import ArtifactStore
    from dem.train import train_kto, train_sft

    store = store if store is not None else ArtifactStore()
    base = resolve_model(model, cache_dir=store.root) if isinstance(model, str) else model
    train = train_sft if spec.trainer == "sft" else train_kto
    policy = base
    selected: list[Any] = []
    run = InteractionRun(adapter=Path())
    for it in range(spec.iterations):
        found, rollout = rollouts(policy, spec, it, store, progress)
        parts = {
            "rollout": rollout.key,
            "trainer": spec.trainer,
            "top_fraction": spec.top_fraction,
            "filter_flagged": spec.filter_flagged,
            "seed": spec.seed,
        }

        def build(
            folder: Path, found: list[Any] = found, parts: dict[str, Any] = parts
        ) -> dict[str, Any]:
            kept = drop_flagged(found, monitor(found)) if spec.filter_flagged else found
            samples = select(
                kept, trainer=spec.trainer, top_fraction=spec.top_fraction, seed=spec.seed
            )
            manifest = Manifest.of(samples, parts)
            write_samples(folder / "data.jsonl", samples, manifest.recipe)
            biased = sum(bool(s.meta.get("biased")) for s in samples)
            return {"samples": len(samples), "from_biased_users": biased}

        chosen = store.get_or_build("selection", parts, build, describe=spec.trainer)
        selected += read_samples(chosen.path / "data.jsonl")
        result = train(base, selected, spec.train_spec(), store=store, progress=progress)
        policy = base.with_adapter(result.adapter)
        run.adapter = result.adapter
        run.iterations.append(
            {
                "rollout": str(rollout.path),
                "selection": str(chosen.path),
                "adapter": str(result.adapter),
                "summary": json.loads((rollout.path / "summary.json").read_text()),
                "selected": chosen.meta.get("result", {}),
            }
        )
    return run
