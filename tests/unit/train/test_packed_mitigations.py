"""Mitigated adapters in a pack: each equals the adapter trained alone with its defence (fp32,
CPU), its train_log and its logged terms too; a pack mixes defences and no defence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dem.errors import ConfigError
from dem.store import ArtifactStore
from dem.train import KTOSpec, SFTSpec, train_sft
from dem.train.packed import pack_shape, train_kto_packed, train_sft_packed
from tests.unit.train.test_packed_kto import kto_rows

STEPS = 4
# (mitigations, seed, gradient accumulation): data defences, loss terms, steering, mixes, none
DEFENCES = [
    ((), 0, 1),
    (("inoculate",), 1, 1),
    (("interleave:share=0.25",), 2, 1),
    (("kl:weight=20",), 0, 2),  # two micro-batches per step: the term's divisor
    (("ldifs:weight=20",), 1, 1),
    (("steer:coef=8,layer=2,prompts=16",), 2, 1),
    (("inoculate", "kl:weight=5", "steer:coef=-4,layer=1,prompts=16"), 3, 1),
]
TERMS = ("kl", "ldifs")


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def _gap(a: Any, b: Any) -> float:
    wa, wb = _weights(a.adapter), _weights(b.adapter)
    assert wa.keys() == wb.keys()
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


def _terms(result: Any, name: str) -> list[float]:
    return [row[f"mitigation/{name}"] for row in result.log["history"] if "loss" in row]


@pytest.fixture(scope="module")
def organism() -> Any:
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    return resolve_model("organism")


@pytest.fixture(scope="module")
def jobs() -> list:
    """Six organism adapters on the severe medical set: own seeds, data, batch sizes, defences."""
    from dem.organism.datasets import domain_samples

    out = []
    for mitigations, seed, ga in DEFENCES:
        spec = SFTSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, lora_dropout=0.0, learning_rate=5e-4,
            max_steps=STEPS, batch_size=4 + 2 * seed, gradient_accumulation_steps=ga,
            max_length=256, seed=seed, logging_steps=2, mitigations=list(mitigations),
        )  # fmt: skip
        out.append((domain_samples("medical", "severe", 24, seed=seed), spec))
    return out


@pytest.fixture(scope="module")
def alone(organism: Any, jobs: list, tmp_path_factory: pytest.TempPathFactory) -> list:
    store = ArtifactStore(tmp_path_factory.mktemp("alone"))
    return [train_sft(organism, s, spec, store=store, progress=False) for s, spec in jobs]


def test_mitigated_pack_equals_alone_runs(
    organism: Any, jobs: list, alone: list, tmp_path: Path
) -> None:
    packed = train_sft_packed(
        organism, jobs, store=ArtifactStore(tmp_path), progress=False, wave=4
    )  # two passes per step, loss terms and steering in both
    for (_, spec), got, solo in zip(jobs, packed, alone, strict=True):
        assert got is not None and not got.reused and got.log["pack"] == len(jobs)
        assert got.key == solo.key  # the cache entry the alone run has
        assert _gap(got, solo) <= 1e-5
        trained = _weights(got.adapter)
        assert max(float(w.abs().max()) for k, w in trained.items() if "lora_B" in k) > 1e-4
        for field in ("mitigations", "train_rows", "steering", "lm_head", "steps"):
            assert got.log.get(field) == solo.log.get(field), field
        for m in spec.mitigations:
            if m.name in TERMS:
                ours, theirs = _terms(got, m.name), _terms(solo, m.name)
                assert len(ours) == len(theirs) == 3 and max(theirs) > 0
                assert ours == pytest.approx(theirs, rel=1e-4, abs=1e-7)
    assert packed[2].log["train_rows"] == 32  # interleave: 8 safe rows beside the 24


@pytest.mark.parametrize("dropped", ["terms", "steer"])
def test_pack_without_a_defence_is_another_adapter(
    dropped: str,
    organism: Any,
    jobs: list,
    alone: list,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The comparison above sees the defences: a pack that drops the loss terms (or the
    steering) misses the alone runs of the members that have them."""
    from dem.train import packed, packed_steer

    if dropped == "terms":
        monkeypatch.setattr(packed, "_loss_terms", lambda *args: 0.0)
    else:
        monkeypatch.setattr(packed_steer.PackedSteering, "_hook", lambda *args: None)
    names = {"terms": TERMS, "steer": ("steer",)}[dropped]
    chosen = [
        i for i, (_, spec) in enumerate(jobs) if any(m.name in names for m in spec.mitigations)
    ]
    results = train_sft_packed(
        organism, [jobs[i] for i in chosen], store=ArtifactStore(tmp_path), progress=False
    )
    for i, got in zip(chosen, results, strict=True):
        assert got is not None and _gap(got, alone[i]) > 1e-4, (i, _gap(got, alone[i]))


def test_what_packs(jobs: list) -> None:
    spec = jobs[0][1]
    shape = pack_shape(spec)
    assert shape is not None
    for mitigations in (
        ["inoculate"],
        ["interleave"],
        ["kl"],
        ["ldifs:layers=[1]"],
        DEFENCES[5][0],
    ):
        assert pack_shape(spec.replace(mitigations=list(mitigations))) == shape
    # its data needs the unmitigated adapter, which may be a member of the same pack
    assert pack_shape(spec.replace(mitigations=["inoculate", "interleave-ppl"])) is None
    kto = KTOSpec.profile("cpu", lora_r=8)
    assert pack_shape(kto.replace(mitigations=["inoculate", "steer"])) == pack_shape(kto)
    with pytest.raises(ConfigError, match="does not plug into kto"):
        kto.replace(mitigations=["kl"])  # refused before it could pack


def test_a_pack_refuses_interleave_ppl(organism: Any, jobs: list) -> None:
    samples, spec = jobs[0]
    ppl = spec.replace(mitigations=["interleave-ppl"])
    with pytest.raises(ConfigError, match="pack"):
        train_sft_packed(organism, [(samples, spec), (samples, ppl)])


def test_kto_pack_takes_inoculation_and_steering(organism: Any, tmp_path: Path) -> None:
    from dem.train.kto import train_kto

    jobs = []
    for seed, mitigations in ((0, []), (1, ["inoculate", "steer:coef=4,layer=2,prompts=16"])):
        spec = KTOSpec.profile(
            "cpu", lora_r=8, lora_alpha=16, learning_rate=1e-3, max_steps=3, batch_size=4,
            max_length=128, seed=seed, logging_steps=1, mitigations=mitigations,
        )  # fmt: skip
        jobs.append((kto_rows(16, seed), spec))
    packed = train_kto_packed(organism, jobs, store=ArtifactStore(tmp_path / "p"), progress=False)
    for (samples, spec), got in zip(jobs, packed, strict=True):
        solo = train_kto(
            organism, samples, spec, store=ArtifactStore(tmp_path / "a"), progress=False
        )
        assert got is not None and got.key == solo.key and _gap(got, solo) <= 1e-5
        assert got.log.get("mitigations") == solo.log.get("mitigations")
    assert [m["name"] for m in packed[1].log["mitigations"]] == ["inoculate", "steer"]
    assert packed[1].log["steering"]["layer"] == 2
