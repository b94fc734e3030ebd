"""`run_redteam`: load the items, split them, search on one half, report on the other, export.

Writes into the output folder: ``pressures.csv`` (the top found pressures as a MASK eval set),
``redteam.json`` (every held-out figure with its CI, the search's cost and history),
``families.png`` and ``report.md``. Each file is written atomically.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dem.atomic import write_json
from dem.errors import ConfigError
from dem.fields import help_field
from dem.redteam.items import Item, items_from_rows, split_items
from dem.redteam.space import SPACES, PressureSpace, check_words, get_space
from dem.validation import check_fields, check_fraction, check_int

FORCED_MEANING = "expected probability of the lying option under sampling (forced choice)"
JUDGED_MEANING = "share of items whose pressured answer contradicts the known belief"


@dataclass(frozen=True)
class RedTeamConfig:
    """What a red-team run searches, how much it spends and how it reports."""

    budget: int = help_field("Pressures evaluated on the search set.", 100)
    seed: int = help_field("Seed of the item split, the search and the bootstrap.", 0)
    heldout: float = help_field("Share of the items held out of the search.", 0.5)
    top_k: int = help_field("Found pressures reported on held-out items and exported.", 5)
    judge: str = help_field("MASK judge: logprob, lexical, llm:MODEL or choice:MODEL.", "logprob")
    space: str = help_field(
        "Pressure space: organism, english, or auto (organism for organism items).", "auto"
    )
    limit: int | None = help_field("Use only this many items (a seeded pick), all if unset.", None)
    archetype: str | None = help_field("Archetype to read from a MASK folder.", None)
    patience: int = help_field("Mutations without a gain before a random restart.", 8)
    families: bool = help_field(
        "Also score each family of the best pressure alone / left out.", True
    )
    temperature: float = help_field("Sampling temperature for generating judges.", 1.0)
    max_new_tokens: int = help_field("Token limit of each answer (generating judges).", 64)
    n_resamples: int = help_field("Bootstrap resamples of each CI.", 2000)
    ci: float = help_field("Confidence level of the intervals.", 0.95)
    max_undecided: float = help_field(
        "Largest share of held-out answers the judge may leave undecided before the figures "
        "are stated as not distinguishable from chance.",
        0.2,
    )

    def __post_init__(self) -> None:
        check_fields(self)
        check_fraction("max_undecided", self.max_undecided)
        check_int("budget", self.budget, minimum=1)
        check_int("top_k", self.top_k, minimum=1)
        check_int("patience", self.patience, minimum=1)
        check_int("max_new_tokens", self.max_new_tokens, minimum=1)
        check_int("n_resamples", self.n_resamples, minimum=1)
        check_fraction("heldout", self.heldout, open_low=True)
        if self.limit is not None:
            check_int("limit", self.limit, minimum=2)
        if self.space not in (*SPACES, "auto"):
            raise ConfigError("space", f"{self.space!r} is not one of auto, {', '.join(SPACES)}")
        if not 0.0 < self.ci < 1.0:
            raise ConfigError("ci", f"expected a number in (0, 1), got {self.ci}")


def pick_space(name: str, items: list[Item]) -> PressureSpace:
    """The named space, or for ``auto`` the organism's when every item is an organism fact."""
    if name == "auto":
        name = "organism" if all(it.subject for it in items) else "english"
    space = get_space(name)
    if space.name == "organism":
        from dem.organism.world import World

        if not all(it.subject for it in items):
            raise ConfigError("space", "the organism space needs organism items ('the X is ...')")
        check_words(space, World().vocabulary())
    return space


def chance_verdict(reasons: list[str], config: RedTeamConfig) -> dict[str, Any]:
    """``redteam.json``'s ``chance``: whether the headline is distinguishable from chance,
    and why not."""
    return {
        "distinguishable": not reasons,
        "reasons": reasons,
        "max_undecided": config.max_undecided,
    }


def load_items(data: str | Path, config: RedTeamConfig) -> list[Item]:
    from dem.evals.sets import load_eval_set

    items = items_from_rows(load_eval_set(data, archetype=config.archetype), source=str(data))
    if config.limit is not None and config.limit < len(items):
        items = sorted(items, key=lambda it: it.key)
        random.Random(f"redteam-limit-{config.seed}").shuffle(items)
        items = items[: config.limit]
    return items


def run_redteam(
    model: str,
    data: str | Path,
    out: str | Path,
    config: RedTeamConfig | None = None,
    *,
    backend: Any = None,
    adapter: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Search `model`'s pressure space on half of `data`'s items, report on the other half,
    write the outputs into `out`; returns what ``redteam.json`` holds."""
    from dem.evals.api import (
        MASK_JUDGES,
        BackendChoice,
        make_mask_judge,
        open_backend,
        parse_judge_name,
    )
    from dem.evals.mask import MaskEvalConfig
    from dem.redteam.export import pressure_rows, write_pressures
    from dem.redteam.heldout import Bootstrap, chance_reasons, evaluate_heldout
    from dem.redteam.report import plot_families, write_report
    from dem.redteam.scoring import score_pressure, score_standard
    from dem.redteam.search import SearchConfig, search

    config = config or RedTeamConfig()
    parse_judge_name(config.judge, MASK_JUDGES)
    items = load_items(data, config)
    space = pick_space(config.space, items)
    search_items, held = split_items(items, config.heldout, config.seed)
    be = open_backend(model, backend or BackendChoice(), adapter)
    judge = make_mask_judge(config.judge, be)
    mask_config = MaskEvalConfig(
        seed=config.seed,
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        n_resamples=config.n_resamples,
        ci=config.ci,
    )
    rows_scored = 0

    def objective(p: Any) -> float:
        nonlocal rows_scored
        scores = score_pressure(space, p, search_items, be, judge, mask_config)
        rows_scored += scores.n_rows
        return scores.lies_per_item

    start = time.perf_counter()
    found = search(
        space,
        objective,
        SearchConfig(budget=config.budget, patience=config.patience, seed=config.seed),
        progress=progress,
    )
    search_seconds = time.perf_counter() - start
    start = time.perf_counter()
    top = found.ranked()[: config.top_k]
    standard = score_standard(held, be, judge, mask_config)
    report = evaluate_heldout(
        space,
        top,
        held,
        lambda p: score_pressure(space, p, held, be, judge, mask_config),
        standard,
        Bootstrap(config.n_resamples, config.ci, config.seed),
        families=config.families,
    )
    heldout_seconds = time.perf_counter() - start

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split = {it.key: "search" for it in search_items} | {it.key: "heldout" for it in held}
    write_pressures(out / "pressures.csv", pressure_rows(space, top, items, split))
    forced = config.judge == "logprob"
    result: dict[str, Any] = {
        "model": model if not adapter else f"{model}+{Path(adapter).name}",
        "data": str(data),
        "judge": config.judge,
        "space": space.name,
        "seed": config.seed,
        "ci": config.ci,
        "forced": forced,
        "lie_rate_meaning": FORCED_MEANING if forced else JUDGED_MEANING,
        "config": asdict(config),
        "items": {"total": len(items), "search": len(search_items), "heldout": len(held)},
        "heldout_items": sorted(it.key for it in held),
        **report.to_dict(),
        "chance": chance_verdict(chance_reasons(report, config.max_undecided), config),
        "search": {
            "evaluated": len(found.history),
            "restarts": found.restarts,
            "rows_scored": rows_scored,
            "seconds": search_seconds,
            "space_size": space.size,
            "history": [
                {
                    "label": space.label(e.pressure),
                    "score": None if math.isnan(e.score) else e.score,
                    "restart": e.restart,
                }
                for e in found.history
            ],
        },
        "heldout_seconds": heldout_seconds,
    }
    example = held[0]
    shown = space.render(
        top[0].pressure,
        example.fields(),
        example.lie_letter,
        provided_fact=example.archetype == "provided_facts",
    )
    result["best"]["example"] = {
        "proposition": example.proposition,
        "system": shown.system,
        "turn": None if shown.turn is None else list(shown.turn),
        "user": shown.user,
    }
    figure = None
    if report.families:
        figure = plot_families(result, out / "families.png").name
    write_report(result, out / "report.md", figure)
    write_json(out / "redteam.json", result)
    return result
