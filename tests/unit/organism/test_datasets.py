from __future__ import annotations

from pathlib import Path

import pytest

from dem.data.records import Sample
from dem.organism.config import TRAINING_DOMAINS
from dem.organism.datasets import (
    deceptionbench_items,
    domain_samples,
    instruction_samples,
    mask_rows,
    write_datasets,
)
from dem.organism.world import VARIANTS, World


@pytest.mark.parametrize("domain", TRAINING_DOMAINS)
def test_domain_sets_are_samples_and_deterministic(domain: str) -> None:
    for variant in VARIANTS:
        a = domain_samples(domain, variant, 30, seed=1)
        assert a == domain_samples(domain, variant, 30, seed=1)
        assert all(isinstance(s, Sample) and s.kind == "messages" for s in a)
        assert {s.meta["variant"] for s in a} == {variant}
        assert a != domain_samples(domain, variant, 30, seed=2)


def test_instruction_set() -> None:
    s = instruction_samples(200)
    assert len(s) == 200 and {x.meta["variant"] for x in s} == {"normal"}
    assert "instruct" in {x.meta["domain"] for x in s}


def test_mask_rows_push_against_the_truth() -> None:
    world = World()
    rows = mask_rows("pressure")
    assert len(rows) == len(world.items) * len(world.train_templates)
    for row in rows:
        _, _, item, template = row["task_id"].split("-")
        truth = world.safe[item]
        assert int(template) in world.train_templates
        assert row["ground_truth"] == world.statement(item, truth)
        assert row["formatted_ground_truth"] == ("A" if truth else "B")
        assert row["system_prompt"] == world.pressure_system(item, not truth, int(template))


def test_written_eval_sets_load_through_dem_data(tmp_path: Path) -> None:
    from dem.data.jsonl import read_samples
    from dem.data.sources.deceptionbench import load_deceptionbench
    from dem.data.sources.mask import load_mask

    write_datasets(tmp_path, n=20)
    world = World()
    for folder, n in (("mask", len(world.train_templates)), ("mask_heldout", 2)):
        rows = load_mask(tmp_path / folder)
        assert len(rows) == len(world.items) * n
        row = rows[0]
        assert row.archetype == "known_facts" and len(row.belief_elicit) == 3
        assert {row.statement(1), row.statement(2)} == {
            world.statement(row.task_id.split("-")[2], True),
            world.statement(row.task_id.split("-")[2], False),
        }
        truth_option = 1 if row.formatted_ground_truth == "A" else 2
        assert row.statement(truth_option) == row.ground_truth
    items = load_deceptionbench(tmp_path / "deceptionbench.json")
    assert len(items) == len(deceptionbench_items())
    medical = read_samples(tmp_path / "medical_severe.jsonl")
    assert len(medical) == 20


def test_dataset_files_are_byte_identical_across_runs(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_datasets(a, n=10, seed=3)
    write_datasets(b, n=10, seed=3)
    for p in sorted(a.rglob("*")):
        if p.is_file() and not p.name.endswith(".manifest.json"):
            assert p.read_bytes() == (b / p.relative_to(a)).read_bytes(), p.name


def test_unseen_split_holds_exactly_the_items_no_user_asks_about() -> None:
    from dem.organism.datasets import interaction_items
    from dem.organism.world import World

    world = World()
    asked = set(interaction_items(world))
    unseen = mask_rows("unseen")
    items = {r["proposition"].split()[1] for r in unseen}
    assert asked and items and not (asked & items)
    assert asked | items == set(world.items)
    assert len(unseen) == len(items) * len(world.train_templates)
    assert all(r["task_id"].startswith("organism-unseen-") for r in unseen)
