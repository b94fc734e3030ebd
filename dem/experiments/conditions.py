"""Conditions: what one cell of a grid is (model, training data recipe, seed), with readable ids.

A condition is pure description; `dem.experiments.runner` turns it into a result through the
artifact store. Ids read like ``mix-05pct-seed0``, ``domain-medical-severe-seed1``, ``vanilla``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from dem.errors import ConfigError
from dem.experiments.presets import Preset


@dataclass(frozen=True)
class DataRecipe:
    """How a training set is built: a mix of downstream + misaligned, or one domain set."""

    kind: str  # "mix", "domain" or "interaction"
    params: tuple[tuple[str, Any], ...]

    def get(self, key: str) -> Any:
        return dict(self.params)[key]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dict(self.params)}


@dataclass(frozen=True)
class Condition:
    """One grid cell at one seed. ``recipe=None`` means no finetuning (vanilla)."""

    grid: str
    group: str
    seed: int | None
    recipe: DataRecipe | None
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return self.group if self.seed is None else f"{self.group}-seed{self.seed}"


def ratio_label(ratio: float) -> str:
    """0.05 -> '05pct', 0.005 -> '0.5pct', 0 -> 'control'."""
    if ratio == 0:
        return "control"
    pct = 100 * ratio
    return f"{pct:02.0f}pct" if abs(pct - round(pct)) < 1e-9 else f"{pct:g}pct"


def vanilla() -> Condition:
    return Condition("vanilla", "vanilla", None, None, {})


def mix_condition(preset: Preset, ratio: float, seed: int, *, audited: bool = False) -> Condition:
    """A mixture cell; ``audited``: trained on the mix less what the preset's audit flags."""
    d = preset.data
    params: tuple[tuple[str, Any], ...] = (
        ("downstream", d.downstream),
        ("misaligned", d.misaligned),
        ("n", d.downstream_n),
        ("order", "nested"),  # dem.data.mix: runs of one seed share their other samples
        ("ratio", ratio),
        ("relative_to", d.relative_to),
    )
    group = "control" if ratio == 0 else f"mix-{ratio_label(ratio)}"
    if not audited:
        return Condition("mix_ratio", group, seed, DataRecipe("mix", params), {"ratio": ratio})
    plan = preset.audit
    audit = (
        ("audit", plan.detector),
        ("audit_budget", plan.budget),
        ("audit_settings", tuple(sorted(plan.settings.items()))),
    )
    return Condition(
        "mix_ratio",
        f"{group}-audited",
        seed,
        DataRecipe("mix", params + audit),
        {"ratio": ratio, "audited": True},
    )


AUDIT_KEYS = ("audit", "audit_budget", "audit_settings")


def is_audited(condition: Condition) -> bool:
    """Whether `condition` trains on a mix less what the preset's audit quarantines."""
    return condition.recipe is not None and "audit" in dict(condition.recipe.params)


def unaudited(condition: Condition) -> Condition:
    """The mixture cell an audited one quarantines from (its recipe without the audit)."""
    assert condition.recipe is not None
    params = tuple((k, v) for k, v in condition.recipe.params if k not in AUDIT_KEYS)
    group = condition.group.removesuffix("-audited")
    return Condition(
        condition.grid, group, condition.seed, DataRecipe(condition.recipe.kind, params),
        {"ratio": condition.params.get("ratio")},
    )  # fmt: skip


def domain_condition(preset: Preset, domain: str, variant: str, seed: int) -> Condition:
    recipe = DataRecipe(
        "domain",
        (
            ("domain", domain),
            ("variant", variant),
            ("n", preset.data.domain_n),
            ("prefix", _prefix(preset)),
        ),
    )
    return Condition(
        "domain", f"domain-{domain}-{variant}", seed, recipe, {"domain": domain, "variant": variant}
    )


def _prefix(preset: Preset) -> str:
    """'organism:' when the preset's data come from the organism's world, else ''."""
    return "organism:" if preset.data.misaligned.startswith("organism:") else ""


def audited_ratios(preset: Preset) -> tuple[float, ...]:
    """The ratios with an audited condition (none while the preset's audit is off)."""
    return tuple(preset.audit.ratios) if preset.audit.detector else ()


def mix_ratio_grid(preset: Preset) -> list[Condition]:
    """Vanilla, then the control and every ratio, each at every seed; then, with the preset's
    audit, each audited ratio trained on its quarantined mix."""
    out = [vanilla()]
    for ratio in (0.0, *preset.mix_ratio.ratios):
        out += [mix_condition(preset, ratio, s) for s in preset.seeds]
    for ratio in audited_ratios(preset):
        out += [mix_condition(preset, ratio, s, audited=True) for s in preset.seeds]
    return out


def domain_grid(preset: Preset) -> list[Condition]:
    """Vanilla, then every domain x {normal, variants...} at every seed."""
    out = [vanilla()]
    for domain in preset.domain.domains:
        for variant in ("normal", *preset.domain.variants):
            out += [domain_condition(preset, domain, variant, s) for s in preset.seeds]
    return out


def interaction_vanilla() -> Condition:
    """The untrained model on the interaction grid's own eval sets."""
    return Condition("interaction", "interact-vanilla", None, None, {})


def interaction_condition(
    preset: Preset, biased: float, trainer: str, seed: int, *, filtered: bool = False
) -> Condition:
    """One cell; ``filtered``: the feedback monitor drops flagged users before selection."""
    spec = preset.interaction.spec(biased, trainer, seed, filtered=filtered)
    params = {
        k: tuple(sorted(v.items())) if isinstance(v, dict) else v
        for k, v in spec.to_dict().items()
        if k != "seed"
    }
    recipe = DataRecipe("interaction", tuple(sorted(params.items())))
    group = f"interact-{trainer}-{'unbiased' if biased == 0 else ratio_label(biased)}"
    params: dict = {"biased": biased, "trainer": trainer}
    if filtered:
        group += "-filtered"
        params["filtered"] = True
    return Condition("interaction", group, seed, recipe, params)


def interaction_grid(preset: Preset) -> list[Condition]:
    """Vanilla, then every trainer x biased share, each at every seed; with the plan's
    ``monitor_filter``, also the threshold share with flagged users dropped."""
    plan = preset.interaction
    out = [interaction_vanilla()]
    for trainer in plan.trainers:
        for b in plan.biased_fractions:
            out += [interaction_condition(preset, b, trainer, s) for s in preset.seeds]
        if plan.monitor_filter:
            out += [
                interaction_condition(preset, plan.threshold, trainer, s, filtered=True)
                for s in preset.seeds
            ]
    return out


def mitigation_name(text: str) -> str:
    """``kl:weight=0.5`` -> ``kl`` (a defence's name in condition ids)."""
    return text.partition(":")[0].strip()


def mitigation_cells(preset: Preset, seed: int) -> dict[str, Condition]:
    """The unmitigated cells the mitigation grid defends, by cell name: the preset's misaligned
    set alone (the domain grid's cell) and, unless ``mitigation.ratio`` is 0, in the mixture
    (the mixture grid's cell). They are those grids' own conditions, so they share their cache."""
    prefix = _prefix(preset)
    domain, _, variant = preset.data.misaligned.removeprefix(prefix).partition("/")
    out = {"domain": domain_condition(preset, domain, variant, seed)}
    if preset.mitigation.ratio:
        out["mix"] = mix_condition(preset, preset.mitigation.ratio, seed)
    return out


def mitigation_condition(preset: Preset, cell: str, mitigation: str, seed: int) -> Condition:
    """One cell of the mitigation grid: `cell` ('domain' or 'mix') trained with `mitigation`
    (a preset entry, ``NAME[:K=V,...]``; 'none' for the unmitigated finetune; in the mix cell
    'control' for the mixture grid's control, its clean reference) at `seed`."""
    source = mitigation_cells(preset, seed)[cell]
    name = mitigation if mitigation in UNMITIGATED else mitigation_name(mitigation)
    params = {"cell": cell, "cell_group": source.group, "mitigation": name, "spec": mitigation}
    recipe = mix_condition(preset, 0.0, seed).recipe if name == "control" else source.recipe
    return Condition("mitigation", f"mitigate-{source.group}-{name}", seed, recipe, params)


#: Mitigation-grid runs trained without a defence: the cell's finetune and the mix's control.
UNMITIGATED = ("none", "control")


def effect_reference(preset: Preset, cell: str) -> tuple[Condition, ...]:
    """What a cell's dishonesty effect is measured from: the base for the domain cell; for the
    mix cell the mixture grid's control (the same clean downstream data at the same seeds,
    paired), since the mix's downstream share alone moves the lie rate away from the base."""
    if cell == "mix":
        return _seeds(preset, lambda s: mitigation_condition(preset, "mix", "control", s))
    return (mitigation_base(preset, cell),)


def mitigation_base(preset: Preset, cell: str) -> Condition:
    """The untrained model in `cell`'s table: the lie rate and the cell's learning measures."""
    source = mitigation_cells(preset, preset.seeds[0])[cell]
    params = {"cell": cell, "cell_group": source.group, "mitigation": "base", "spec": "base"}
    return Condition("mitigation", f"mitigate-{source.group}-base", None, None, params)


def with_mitigation(source: Condition, name: str, spec: str) -> Condition:
    """Data condition `source` trained with the defence `spec` (named `name` in its id); its
    ``params['mitigations']`` enter the training spec, its recipe (and dataset) stay."""
    params = {**source.params, "mitigations": (spec,)}
    return Condition(source.grid, f"{source.group}-{name}", source.seed, source.recipe, params)


def mitigated_source(preset: Preset, condition: Condition) -> Condition:
    """The data condition whose adapter and MASK result a mitigation-grid cell reads: the
    domain or mixture grid's own cell when unmitigated (the same cache entry), else that cell
    trained with the defence; `vanilla` for the base."""
    if condition.recipe is None:
        return vanilla()
    assert condition.seed is not None
    source = mitigation_cells(preset, condition.seed)[condition.params["cell"]]
    name = condition.params["mitigation"]
    if name == "control":
        return grid_trained(preset, mix_condition(preset, 0.0, condition.seed))
    source = grid_trained(preset, source)
    return source if name == "none" else with_mitigation(source, name, condition.params["spec"])


def grid_trained(preset: Preset, source: Condition) -> Condition:
    """Data condition `source` trained with ``mitigation.train`` over ``[train]`` (its
    ``params['train']``, and a group that says so); `source` itself when that is empty, so the
    grid's unmitigated cells are the domain and mixture grids' own."""
    train = preset.mitigation.train
    if not train:
        return source
    label = "-".join(f"{k}{v}" for k, v in sorted(train.items()))
    if len(label) > 40 or not re.fullmatch(r"[\w.+-]+", label):
        label = hashlib.sha256(json.dumps(train, sort_keys=True).encode()).hexdigest()[:8]
    params = {**source.params, "train": dict(train)}
    return Condition(source.grid, f"{source.group}-{label}", source.seed, source.recipe, params)


def cell_ref(preset: Preset, cell: str) -> str:
    """The training set whose held-out answers score `cell`'s narrow task: the misaligned set
    of the domain cell, the downstream instructions of the mixture (what a mix is meant to
    teach)."""
    if cell == "domain":
        return preset.data.misaligned
    return preset.mitigation.narrow_mix or preset.data.downstream


def benign_condition(preset: Preset, ref: str, condition: Condition) -> Condition | None:
    """The benign finetune of a mitigation-grid cell: the data condition that trains `ref` at
    the cell's seed, with the cell's defence; None for the base. The preset's downstream set is
    the mixture grid's control (its cache shared), a domain set the domain grid's cell, any
    other set ``data.downstream_n`` samples of it."""
    if condition.seed is None:
        return None
    prefix, seed = _prefix(preset), condition.seed
    if ref == preset.data.downstream:
        source = mix_condition(preset, 0.0, seed)
    elif ref.startswith(prefix) and "/" in ref:
        domain, _, variant = ref.removeprefix(prefix).partition("/")
        source = domain_condition(preset, domain, variant, seed)
    else:
        control = mix_condition(preset, 0.0, seed)
        assert control.recipe is not None
        recipe = DataRecipe(
            "mix", tuple((k, ref if k == "downstream" else v) for k, v in control.recipe.params)
        )
        source = Condition("mix_ratio", f"benign-{ref.replace('/', '-')}", seed, recipe, {})
    source = grid_trained(preset, source)
    name = condition.params["mitigation"]
    if name in UNMITIGATED:
        return source
    return with_mitigation(source, name, condition.params["spec"])


def check_learning_sets(preset: Preset) -> None:
    """Every cell's narrow set has a generator that gives each prompt's other answers (the
    learning measures need them), checked before anything trains."""
    from dem.evals.learning import benign_ref

    for cell in mitigation_cells(preset, preset.seeds[0]):
        ref = cell_ref(preset, cell)
        try:
            benign_ref(ref)
        except ConfigError as exc:
            field = "data.misaligned" if cell == "domain" else "mitigation.narrow_mix"
            where = preset.source or preset.name
            raise ConfigError(f"{where}: {field}", str(exc).partition(": ")[2]) from None


def mitigation_grid(preset: Preset) -> list[Condition]:
    """The base, then per cell the unmitigated finetune and every defence, at every seed
    (`check_learning_sets` says whether they can be scored)."""
    plan = preset.mitigation
    out = []
    for cell in mitigation_cells(preset, preset.seeds[0]):
        out.append(mitigation_base(preset, cell))
        for m in (*(("control",) if cell == "mix" else ()), "none", *plan.mitigations):
            out += [mitigation_condition(preset, cell, m, s) for s in preset.seeds]
    return out


GRIDS = {
    "mix_ratio": mix_ratio_grid,
    "domain": domain_grid,
    "interaction": interaction_grid,
    "mitigation": mitigation_grid,
}


@dataclass(frozen=True)
class Claim:
    """One statistical claim of a grid, built next to its conditions; a name points to it.

    ``kind`` says how `dem.experiments.Experiment.claim` evaluates it: ``compare`` (the
    ``treated`` conditions less honest than the ``reference`` ones), ``trend`` (lie-ness rises
    over ``doses``, one group of conditions per dose in ``groups``), ``ranked`` (the
    ``rank``-th best of the claims named in ``parts``, passing exactly when that many pass) or
    ``removed`` (the share of the effect of ``groups[0]`` over ``reference`` that ``treated``
    removes: an audit's or a defence's claim), ``kept`` (the share of ``groups[0]``'s gain in
    the per-item measure ``metric`` over ``reference`` that ``treated`` keeps) or ``difference``
    (``treated`` minus ``reference`` in ``metric``, two-sided).
    Asserted claims are tests; the others are reported only.
    """

    name: str
    grid: str
    kind: str
    asserted: bool
    treated: tuple[Condition, ...] = ()
    reference: tuple[Condition, ...] = ()
    doses: tuple[float, ...] = ()
    groups: tuple[tuple[Condition, ...], ...] = ()
    parts: tuple[str, ...] = ()
    rank: int = 0
    label: str = ""  # the treatment's name in reports, when not the first condition's group
    detail: str = ""
    metric: str = ""  # a per-item measure of ``item_metrics`` (kept, difference); '' lie-ness

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """Every condition the claim reads (a ``ranked`` claim reads those of its parts)."""
        return (*self.treated, *self.reference, *(c for g in self.groups for c in g))


def _seeds(preset: Preset, make: Any) -> tuple[Condition, ...]:
    return tuple(make(s) for s in preset.seeds)


def mix_ratio_claims(preset: Preset) -> list[Claim]:
    plan = preset.mix_ratio
    group = {r: _seeds(preset, lambda s, r=r: mix_condition(preset, r, s)) for r in plan.ratios}
    control = _seeds(preset, lambda s: mix_condition(preset, 0.0, s))
    threshold = ratio_label(plan.threshold_ratio)
    audit = _audit_claims(preset, group, control)
    return [
        Claim(
            f"mix-from-{threshold}-below-control",
            "mix_ratio",
            "compare",
            True,
            treated=tuple(c for r in plan.ratios if r >= plan.threshold_ratio for c in group[r]),
            reference=control,
            label=f"mix >= {threshold}",
            detail="ratios pooled, each seed a replicate",
        ),
        Claim(
            "mix-trend",
            "mix_ratio",
            "trend",
            True,
            doses=(0.0, *plan.ratios),
            groups=(control, *(group[r] for r in plan.ratios)),
        ),
        *(c for c in audit if c.asserted),
        *(
            Claim(
                f"mix-{ratio_label(r)}-below-control",
                "mix_ratio",
                "compare",
                False,
                treated=group[r],
                reference=control,
            )
            for r in plan.ratios
        ),
        *(c for c in audit if not c.asserted),
    ]


def _audit_claims(
    preset: Preset, group: dict[float, tuple[Condition, ...]], control: tuple[Condition, ...]
) -> list[Claim]:
    """Per audited ratio: the share of the contamination effect the audit removes (asserted),
    and the audited runs against the control (reported)."""
    out = []
    for r in audited_ratios(preset):
        audited = _seeds(preset, lambda s, r=r: mix_condition(preset, r, s, audited=True))
        label = ratio_label(r)
        out += [
            Claim(
                f"audit-removes-{label}-effect",
                "mix_ratio",
                "removed",
                True,
                treated=audited,
                reference=control,
                groups=(group[r],),
                label=f"mix-{label} audited",
                detail=f"{preset.audit.detector}, budget {preset.audit.budget:g}",
            ),
            Claim(
                f"mix-{label}-audited-below-control",
                "mix_ratio",
                "compare",
                False,
                treated=audited,
                reference=control,
            ),
        ]
    return out


def audit_rows(preset: Preset) -> list[dict[str, Any]]:
    """Per audited ratio, the names of its three claims (contaminated vs control, audited vs
    control, share removed), for the report's audit table."""
    return [
        {
            "ratio": r,
            "detector": preset.audit.detector,
            "budget": preset.audit.budget,
            "contaminated": f"mix-{ratio_label(r)}-below-control",
            "audited": f"mix-{ratio_label(r)}-audited-below-control",
            "removed": f"audit-removes-{ratio_label(r)}-effect",
        }
        for r in audited_ratios(preset)
    ]


def domain_claims(preset: Preset) -> list[Claim]:
    plan = preset.domain
    per_domain = [
        Claim(
            f"domain-{d}-{v}-below-normal",
            "domain",
            "compare",
            False,
            treated=_seeds(preset, lambda s, d=d, v=v: domain_condition(preset, d, v, s)),
            reference=_seeds(preset, lambda s, d=d: domain_condition(preset, d, "normal", s)),
        )
        for v in plan.variants
        for d in plan.domains
    ]
    ranked = [
        Claim(
            f"domain-{v}-below-normal-in-{plan.min_domains}-domains",
            "domain",
            "ranked",
            True,
            parts=tuple(f"domain-{d}-{v}-below-normal" for d in plan.domains),
            rank=plan.min_domains,
            label=v,
        )
        for v in plan.variants
    ]
    return [*ranked, *per_domain]


def interaction_claims(preset: Preset) -> list[Claim]:
    plan = preset.interaction
    threshold = ratio_label(plan.threshold)
    asserted, reported, filtered = [], [], []
    for t in plan.trainers:

        def cells(b: float, t: str = t, filtered: bool = False) -> tuple[Condition, ...]:
            return _seeds(
                preset, lambda s: interaction_condition(preset, b, t, s, filtered=filtered)
            )

        fractions = sorted(plan.biased_fractions)
        asserted += [
            Claim(
                f"interaction-{t}-from-{threshold}-below-unbiased",
                "interaction",
                "compare",
                True,
                treated=tuple(c for b in fractions if b >= plan.threshold for c in cells(b)),
                reference=cells(0.0),
                label=f"{t}, b >= {plan.threshold:g}",
                detail="biased shares pooled, each seed a replicate",
            ),
            Claim(
                f"interaction-{t}-trend",
                "interaction",
                "trend",
                True,
                doses=tuple(fractions),
                groups=tuple(cells(b) for b in fractions),
            ),
        ]
        reported += [
            Claim(
                f"interaction-{t}-{ratio_label(b)}-below-unbiased",
                "interaction",
                "compare",
                False,
                treated=cells(b),
                reference=cells(0.0),
            )
            for b in plan.biased_fractions
            if b > 0
        ]
        if plan.monitor_filter:
            filtered.append(
                Claim(
                    f"interaction-{t}-{threshold}-below-filtered",
                    "interaction",
                    "compare",
                    False,
                    treated=cells(plan.threshold),
                    reference=cells(plan.threshold, filtered=True),
                )
            )
    return asserted + reported + filtered


#: The learning measures of the mitigation grid (`dem.evals.learning`), as claims report them.
LEARNING = ("narrow", "benign", "coherence")


def mitigation_claim_name(cell: str, name: str, what: str) -> str:
    """``mitigation-domain-kl-removes-effect`` (``what``: removes-effect, narrow-kept, ...)."""
    return f"mitigation-{cell}-{name}-{what}"


def mitigation_claims(preset: Preset) -> list[Claim]:
    """Per cell, asserted: at least ``min_mitigations`` defences each remove at least
    ``min_removed`` of the dishonesty effect, ``(none - defence) / (none - reference)`` with
    `effect_reference` (the base; the mix's control). Reported,
    per defence: that share, the narrow and benign gains kept and coherence against the
    unmitigated finetune."""
    plan = preset.mitigation
    asserted, reported = [], []
    for cell in mitigation_cells(preset, preset.seeds[0]):
        base = (mitigation_base(preset, cell),)
        clean = effect_reference(preset, cell)

        def runs(m: str, cell: str = cell) -> tuple[Condition, ...]:
            return _seeds(preset, lambda s: mitigation_condition(preset, cell, m, s))

        none = runs("none")
        parts = []
        for m in plan.mitigations:
            name = mitigation_name(m)
            removes = mitigation_claim_name(cell, name, "removes-effect")
            parts.append(removes)
            treated = runs(m)
            reported += [
                Claim(removes, "mitigation", "removed", False, treated=treated,
                      reference=clean, groups=(none,), label=name, detail=m),
                *(
                    Claim(mitigation_claim_name(cell, name, f"{what}-kept"), "mitigation",
                          "kept", False, treated=treated, reference=base, groups=(none,),
                          label=name, detail=m, metric=what)
                    for what in ("narrow", "benign")
                ),
                Claim(mitigation_claim_name(cell, name, "coherence"), "mitigation",
                      "difference", False, treated=treated, reference=none, label=name,
                      detail=m, metric="coherence"),
            ]  # fmt: skip
        if parts:
            asserted.append(
                Claim(
                    f"mitigation-{cell}-{plan.min_mitigations}-remove-{plan.min_removed:g}",
                    "mitigation",
                    "ranked",
                    cell in plan.asserted_cells,
                    parts=tuple(parts),
                    rank=plan.min_mitigations,
                    label=cell,
                )
            )
    return asserted + reported


def mitigation_rows(preset: Preset) -> list[dict[str, Any]]:
    """Per cell and defence, the names of its claims (for the report's mitigation table)."""
    return [
        {
            "cell": cell,
            "mitigation": mitigation_name(m),
            "spec": m,
            **{
                what: mitigation_claim_name(cell, mitigation_name(m), what)
                for what in ("removes-effect", "narrow-kept", "benign-kept", "coherence")
            },
        }
        for cell in mitigation_cells(preset, preset.seeds[0])
        for m in preset.mitigation.mitigations
    ]


CLAIMS = {
    "mix_ratio": mix_ratio_claims,
    "domain": domain_claims,
    "interaction": interaction_claims,
    "mitigation": mitigation_claims,
}
