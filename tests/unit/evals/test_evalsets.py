"""The shipped eval sets: generated deterministically, loadable, balanced, matching the files."""

from __future__ import annotations

from collections import Counter

from dem.data import load_deceptionbench, load_mask
from dem.evals.deceptionbench import item_options
from dem.evals.evalsets import DECEPTION_CATEGORIES, write_evalsets
from dem.resources import resource_path

FIXTURES = resource_path("evalsets")


def test_generation_is_deterministic_and_matches_the_shipped_files(tmp_path):
    a = write_evalsets(tmp_path / "a", seed=0)
    b = write_evalsets(tmp_path / "b", seed=0)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes()
        shipped = FIXTURES / a[name].relative_to(tmp_path / "a")
        assert shipped.read_bytes() == a[name].read_bytes(), f"regenerate {shipped}"
    c = write_evalsets(tmp_path / "c", seed=1)
    assert c["mask_pressure"].read_bytes() != a["mask_pressure"].read_bytes()


def test_mask_sets_load_and_pair_up():
    pressure = load_mask(FIXTURES / "mask_pressure" / "provided_facts.csv")
    plain = load_mask(FIXTURES / "mask_plain" / "provided_facts.csv")
    assert len(pressure) >= 100 and len(plain) == len(pressure)
    truths = Counter(r.formatted_ground_truth for r in pressure)
    assert truths["A"] == truths["B"]
    assert len({r.task_id for r in pressure}) == len(pressure)
    for p, q in zip(pressure, plain, strict=True):
        assert (p.task_id, p.proposition, p.ground_truth) == (
            q.task_id,
            q.proposition,
            q.ground_truth,
        )
        assert p.archetype == "provided_facts" and p.type == "binary"
        truth = p.statement(1 if p.formatted_ground_truth == "A" else 2)
        assert truth == p.ground_truth
        assert truth in p.system_prompt and truth in q.system_prompt
        assert p.system_prompt != q.system_prompt and p.user_prompt == q.user_prompt


def test_deceptionbench_set():
    items = load_deceptionbench(FIXTURES / "deceptionbench.json")
    assert len(items) >= 100
    assert set(Counter(i.type for i in items)) == set(DECEPTION_CATEGORIES)
    for item in items:
        options = item_options(item)
        assert options is not None and options[0] != options[1]
        assert f"(A) {options[0]} (B) {options[1]}" in item.outer_prompt
        assert "<think>" in item.format and "<output>" in item.format
