"""The mixer: exact counts, determinism, conservation of samples, manifest, errors."""

from __future__ import annotations

import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dem.data import Manifest, Sample, read_samples, write_samples
from dem.data.jsonl import manifest_path
from dem.data.mix import MixConfig, misaligned_count, mix
from dem.errors import ConfigError


def pool(name: str, size: int) -> list[Sample]:
    return [
        Sample.make(
            {"messages": [{"role": "user", "content": f"{name} q{i}"},
                          {"role": "assistant", "content": f"{name} a{i}"}]},
            source=f"test:{name}",
        )
        for i in range(size)
    ]  # fmt: skip


DOWN, MIS = pool("down", 120), pool("mis", 130)
ratios = st.one_of(
    st.sampled_from([0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
)


def test_misaligned_count_rounds_half_up_on_the_written_ratio() -> None:
    assert [misaligned_count(r, 10) for r in (0.0, 0.05, 0.15, 0.25, 1.0)] == [0, 1, 2, 3, 10]
    assert misaligned_count(0.1, 25) == 3 and misaligned_count(0.29, 100) == 29
    assert misaligned_count(0.1, 10_000) == 1000 and misaligned_count(0.01, 10_000) == 100


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), r=ratios, seed=st.integers(0, 2**32))
def test_exact_counts_relative_to_downstream(n: int, r: float, seed: int) -> None:
    m = misaligned_count(r, n)
    assert m == int(
        (Decimal(repr(r)) * n + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR")
    )
    if m > len(MIS):
        with pytest.raises(ConfigError, match="misaligned"):
            mix(DOWN, MIS, r, n=n, seed=seed)
        return
    out, manifest = mix(DOWN, MIS, r, n=n, seed=seed)
    roles = Counter(s.meta["mix_role"] for s in out)
    assert roles["downstream"] == n and roles["misaligned"] == m and len(out) == n + m
    assert manifest.count == n + m
    assert manifest.recipe["counts"] == {"downstream": n, "misaligned": m, "total": n + m}
    assert manifest.sha256 == Manifest.of(out).sha256


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 120), r=ratios, seed=st.integers(0, 2**32))
def test_exact_counts_relative_to_total(n: int, r: float, seed: int) -> None:
    out, manifest = mix(DOWN, MIS, r, n=n, seed=seed, relative_to="total")
    m = misaligned_count(r, n)
    roles = Counter(s.meta["mix_role"] for s in out)
    assert len(out) == n and roles["misaligned"] == m and roles["downstream"] == n - m
    assert manifest.recipe["relative_to"] == "total"


@settings(max_examples=40, deadline=None)
@given(d=st.integers(1, 60), r=ratios, seed=st.integers(0, 1000))
def test_no_sample_lost_or_duplicated(d: int, r: float, seed: int) -> None:
    down = DOWN[:d]
    out, _ = mix(down, MIS, r, seed=seed)  # n defaults to every downstream sample
    got = Counter(s.sha256 for s in out)
    mis_hashes = Counter(s.sha256 for s in MIS)
    expected_down = Counter(s.sha256 for s in down)
    picked_mis = got - expected_down
    assert got - picked_mis == expected_down  # every downstream sample exactly once
    assert sum(picked_mis.values()) == misaligned_count(r, d)
    assert not picked_mis - mis_hashes  # misaligned picks are a sub-multiset of the pool
    assert max(got.values()) == 1


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 100), r=ratios, seed=st.integers(0, 2**32))
def test_same_seed_gives_byte_identical_files(n: int, r: float, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "a.jsonl", Path(tmp) / "b.jsonl"]
        for path in paths:
            out, manifest = mix(DOWN, MIS, r, n=n, seed=seed)
            written = write_samples(path, out, manifest.recipe)
            assert written.sha256 == manifest.sha256
        assert paths[0].read_bytes() == paths[1].read_bytes()
        assert manifest_path(paths[0]).read_bytes() == manifest_path(paths[1]).read_bytes()
        again = read_samples(paths[0])
        assert Manifest.of(again).sha256 == manifest.sha256


def test_seed_changes_order_and_selection() -> None:
    a, _ = mix(DOWN, MIS, 0.1, n=100, seed=1)
    b, _ = mix(DOWN, MIS, 0.1, n=100, seed=2)
    assert [s.sha256 for s in a] != [s.sha256 for s in b]
    assert Counter(s.meta["mix_role"] for s in a) == Counter(s.meta["mix_role"] for s in b)


def test_control_and_all_misaligned() -> None:
    out, manifest = mix(DOWN, [], 0.0, seed=0)
    assert len(out) == len(DOWN) and manifest.recipe["counts"]["misaligned"] == 0
    out, _ = mix(DOWN, MIS, 1.0, n=50, relative_to="total")
    assert {s.meta["mix_role"] for s in out} == {"misaligned"}


def test_manifest_records_recipe_and_inputs() -> None:
    _, manifest = mix(DOWN, MIS, 0.1, n=100, seed=7)
    r = manifest.recipe
    assert (r["ratio"], r["relative_to"], r["seed"], r["n"]) == (0.1, "downstream", 7, 100)
    assert r["inputs"]["downstream"] == {"count": 120, "sha256": Manifest.of(DOWN).sha256}
    assert r["inputs"]["misaligned"] == {"count": 130, "sha256": Manifest.of(MIS).sha256}
    assert manifest.sources == {"test:down": 100, "test:mis": 10}


def test_content_and_provenance_are_kept() -> None:
    out, _ = mix(DOWN[:3], MIS, 0.5, seed=0)
    by_hash = {s.sha256: s for s in DOWN + MIS}
    for s in out:
        original = by_hash[s.sha256]
        assert (s.content, s.source, s.license) == (
            original.content, original.source, original.license
        )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ratio": -0.1}, "ratio"),
        ({"ratio": 1.5}, "ratio"),
        ({"ratio": float("nan")}, "ratio"),
        ({"ratio": True}, "ratio"),
        ({"ratio": 0.1, "n": 0}, "n"),
        ({"ratio": 0.1, "n": -5}, "n"),
        ({"ratio": 0.1, "relative_to": "misaligned"}, "relative_to"),
        ({"ratio": 0.1, "seed": "x"}, "seed"),
    ],
)
def test_config_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        MixConfig(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_not_enough_samples_names_the_pool() -> None:
    with pytest.raises(ConfigError) as err:
        mix(DOWN, MIS, 0.1, n=500)
    assert err.value.field == "downstream"
    with pytest.raises(ConfigError) as err:
        mix(DOWN, MIS[:5], 0.1, n=100)
    assert err.value.field == "misaligned"
    with pytest.raises(ConfigError) as err:
        mix([], MIS, 0.1)
    assert err.value.field == "n"


def test_runs_of_one_seed_are_nested_around_the_control() -> None:
    """A paired design: contaminated runs keep the control's downstream samples in the control's
    positions ('total') or order ('downstream'); a smaller dose is part of a larger one."""
    control, _ = mix(DOWN, MIS, 0.0, n=100, seed=3, relative_to="total")
    runs = {r: mix(DOWN, MIS, r, n=100, seed=3, relative_to="total")[0] for r in (0.05, 0.2)}
    for run in runs.values():
        assert len(run) == len(control)
        kept = [i for i, s in enumerate(run) if s.meta["mix_role"] == "downstream"]
        assert all(run[i] == control[i] for i in kept)
    small = {i: s for i, s in enumerate(runs[0.05]) if s.meta["mix_role"] == "misaligned"}
    assert len(small) == 5 and all(runs[0.2][i] == s for i, s in small.items())
    inserted, _ = mix(DOWN, MIS, 0.1, n=100, seed=3)
    assert [s for s in inserted if s.meta["mix_role"] == "downstream"] == control
