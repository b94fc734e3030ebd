from __future__ import annotations

from dem.experiments.conditions import domain_grid, mix_ratio_grid, ratio_label
from dem.experiments.presets import load_preset


def test_ratio_labels():
    assert [ratio_label(r) for r in (0, 0.01, 0.05, 0.1, 0.3, 0.005)] == [
        "control",
        "01pct",
        "05pct",
        "10pct",
        "30pct",
        "0.5pct",
    ]


def test_mix_grid_has_vanilla_control_and_every_ratio_seed():
    p = load_preset("smoke", seeds=(0, 1))
    conds = mix_ratio_grid(p)
    ids = [c.id for c in conds]
    assert ids[0] == "vanilla"
    assert "control-seed0" in ids and "mix-05pct-seed1" in ids
    audited = len(p.audit.ratios) if p.audit.detector else 0
    assert len(ids) == 1 + 2 * (1 + len(p.mix_ratio.ratios) + audited)
    assert len(set(ids)) == len(ids)
    assert conds[0].recipe is None


def test_audited_cells_and_their_claims():
    from dataclasses import replace

    from dem.experiments.conditions import mix_ratio_claims, unaudited

    p = load_preset("smoke", seeds=(0, 1))
    p = replace(p, audit=replace(p.audit, detector="gradient", ratios=(0.02,)))
    conds = {c.id: c for c in mix_ratio_grid(p)}
    cell = conds["mix-02pct-audited-seed1"]
    assert cell.params == {"ratio": 0.02, "audited": True}
    assert cell.recipe.get("audit") == "gradient" and cell.recipe.get("audit_budget") == 0.1
    base = unaudited(cell)
    assert base == conds["mix-02pct-seed1"] and base.recipe == conds["mix-02pct-seed1"].recipe
    claims = {c.name: c for c in mix_ratio_claims(p)}
    removed = claims["audit-removes-02pct-effect"]
    assert removed.asserted and removed.kind == "removed"
    assert [c.id for c in removed.treated] == ["mix-02pct-audited-seed0", "mix-02pct-audited-seed1"]
    assert [c.id for c in removed.groups[0]] == ["mix-02pct-seed0", "mix-02pct-seed1"]
    assert [c.id for c in removed.reference] == ["control-seed0", "control-seed1"]
    assert not claims["mix-02pct-audited-below-control"].asserted
    off = replace(p, audit=replace(p.audit, detector=""))
    assert not any(c.params.get("audited") for c in mix_ratio_grid(off))
    assert not any("audit" in c.name for c in mix_ratio_claims(off))


def test_domain_grid_ids_and_organism_prefix():
    p = load_preset("smoke", seeds=(0,))
    conds = domain_grid(p)
    assert "domain-medical-severe-seed0" in [c.id for c in conds]
    assert conds[1].recipe.get("prefix") == "organism:"
    assert load_preset("paper").data.misaligned == "medical/severe"


def test_interaction_grid_cells_carry_their_spec():
    from dem.experiments.conditions import interaction_grid

    p = load_preset("smoke", seeds=(0, 1))
    conds = interaction_grid(p)
    ids = [c.id for c in conds]
    assert ids[0] == "interact-vanilla" and conds[0].recipe is None
    assert "interact-sft-unbiased-seed0" in ids and "interact-kto-10pct-seed1" in ids
    n_cells = len(p.interaction.trainers) * len(p.interaction.biased_fractions)
    n_filtered = len(p.interaction.trainers) if p.interaction.monitor_filter else 0
    assert len(ids) == len(set(ids)) == 1 + 2 * (n_cells + n_filtered)
    dropped = next(c for c in conds if c.id == "interact-sft-10pct-filtered-seed0")
    assert dropped.params["filtered"] and dropped.recipe.get("filter_flagged") is True
    cell = next(c for c in conds if c.id == "interact-kto-50pct-seed1")
    assert cell.recipe.get("biased_fraction") == 0.5 and cell.recipe.get("trainer") == "kto"
    spec = p.interaction.spec(0.5, "kto", 1)
    assert spec.seed == 1 and spec.train_spec().learning_rate == 5e-4
