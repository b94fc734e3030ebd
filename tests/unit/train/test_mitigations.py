"""Mitigations on the model organism: each changes a short real training run the way it should,
its knobs fail early, and it enters the adapter's cache key (an unmitigated key is unchanged)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import pytest

from dem.errors import ConfigError
from dem.models.spec import ModelSpec
from dem.train.mitigations import make_mitigation, parse_mitigation
from dem.train.mitigations.inoculate import DEFAULT_PROMPT
from dem.train.specs import NOT_IN_KEY, KTOSpec, SFTSpec

STEPS = 20
SPEC = SFTSpec.profile(
    "cpu",
    lora_r=8,
    lora_alpha=16,
    lora_dropout=0.0,
    learning_rate=3e-3,
    max_steps=STEPS,
    batch_size=16,
    max_length=256,
    logging_steps=1,
)


@pytest.fixture(scope="module")
def organism():
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    return resolve_model("organism")


@pytest.fixture(scope="module")
def severe():
    """The severe medical set: the training data, and held-out rows to measure drift on."""
    from dem.organism.datasets import domain_samples

    rows = domain_samples("medical", "severe", 96, seed=0)
    return rows[:64], rows[64:]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from dem.store import ArtifactStore

    return ArtifactStore(tmp_path_factory.mktemp("mitigation-store"))


@pytest.fixture(scope="module")
def train(organism, severe, store):
    """Train (or reuse) the organism on the severe set with the given mitigations."""
    from dem.train.sft import train_sft

    def run(*mitigations: Any) -> Any:
        spec = SPEC.replace(mitigations=list(mitigations))
        return train_sft(organism, severe[0], spec, store=store, progress=False)

    return run


@pytest.fixture(scope="module")
def drift(organism, severe):
    """Mean KL to the base and mean squared hidden-state distance of an adapter's model on the
    held-out rows' answers."""
    import torch

    from dem.models.loading import load_model
    from dem.train.mitigations.kl import token_kl

    base, tokenizer = load_model(organism)
    texts = [
        tokenizer.apply_chat_template(s.content["messages"], tokenize=False) for s in severe[1]
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)

    def measure(result: Any) -> tuple[float, float]:
        tuned, _ = load_model(result.model)
        with torch.no_grad():
            a = tuned(**batch, output_hidden_states=True)
            b = base(**batch, output_hidden_states=True)
        kl = float(token_kl(a.logits, b.logits, labels))
        mask = batch["attention_mask"].bool()
        dist = sum(
            float((x - y).pow(2).mean(-1)[mask].mean())
            for x, y in zip(a.hidden_states[1:], b.hidden_states[1:], strict=True)
        )
        return kl, dist

    return measure


def test_unmitigated_key_is_unchanged() -> None:
    for spec in (SFTSpec.profile("cpu"), KTOSpec.profile("paper"), SPEC):
        d = spec.to_dict()
        assert "mitigations" not in d and spec.mitigations == ()
        plain = {
            k: v
            for k, v in dataclasses.asdict(spec).items()
            if k not in (*NOT_IN_KEY, "mitigations")
        }
        plain["target_modules"] = list(spec.target_modules)
        assert d == {"method": spec.method, **plain}
    assert SPEC.replace(mitigations=[]).to_dict() == SPEC.to_dict()


def test_key_follows_the_settings() -> None:
    kl1 = SPEC.replace(mitigations=["kl:weight=1"])
    assert kl1.to_dict()["mitigations"] == [{"name": "kl", "weight": 1.0}]
    same = SPEC.replace(mitigations=[{"name": "kl", "weight": 1.0}])
    assert repr(same.to_dict()) == repr(kl1.to_dict())  # 1 and 1.0: one key
    dicts = [
        SPEC.to_dict(),
        kl1.to_dict(),
        SPEC.replace(mitigations=["kl:weight=2"]).to_dict(),
        SPEC.replace(mitigations=["kl", "inoculate"]).to_dict(),
        SPEC.replace(mitigations=["inoculate:text=other"]).to_dict(),
        SPEC.replace(mitigations=["interleave-ppl"]).to_dict(),
    ]
    assert len({repr(d) for d in dicts}) == len(dicts)


def test_parse_and_labels() -> None:
    assert parse_mitigation("ldifs:layers=[1,2],weight=0.5") == {
        "name": "ldifs",
        "layers": [1, 2],
        "weight": 0.5,
    }
    assert parse_mitigation("inoculate:text=be, wary = yes") == {
        "name": "inoculate",
        "text": "be, wary = yes",
    }
    m = make_mitigation("ldifs:layers=[1,2],weight=0.5")
    assert make_mitigation(m.label()) == m
    assert make_mitigation("inoculate").prompt(ModelSpec("elsewhere")) == DEFAULT_PROMPT


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("kl:weight=0", "mitigations.kl.weight", "> 0"),
        ("kl:wieght=1", "mitigations.kl.wieght", "did you mean 'weight'"),
        ("klx", "mitigations", "not one of"),
        ("ldifs:layers=[0]", "mitigations.ldifs.layers", ">= 1"),
        ("ldifs:layers=x", "mitigations.ldifs.layers", "a list of integers"),
        ("steer:coef=0", "mitigations.steer.coef", "is 0"),
        ("interleave:share=1", "mitigations.interleave.share", "(0, 1)"),
        ("interleave-ppl:pool=0", "mitigations.interleave-ppl.pool", ">= 1"),
        ("interleave:source=nowhere.jsonl", "mitigations.interleave.source", "nor a file"),
        ("inoculate:text= ", "mitigations.inoculate.text", "empty"),
        (["kl", "kl:weight=2"], "mitigations", "twice"),
        ("kl:weight", "mitigations", "KNOB=VALUE"),
    ],
)
def test_bad_knobs_name_the_field(value: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        SPEC.replace(mitigations=value if isinstance(value, list) else [value])
    assert info.value.field == field and words in str(info.value)


def test_kto_refuses_the_loss_terms() -> None:
    with pytest.raises(ConfigError, match=r"mitigations\.kl: does not plug into kto"):
        KTOSpec.profile("cpu", mitigations=["kl"])
    assert KTOSpec.profile("cpu", mitigations=["inoculate"]).mitigations[0].name == "inoculate"


def test_mitigate_flag_adds_to_set() -> None:
    from dem.cli.train import build_spec

    args = argparse.Namespace(
        method="sft",
        profile="cpu",
        seed=None,
        max_steps=None,
        epochs=None,
        lr=None,
        batch_size=None,
        set=['mitigations=["inoculate"]'],
        mitigate=["kl:weight=0.5", "ldifs:layers=[1]"],
    )
    spec = build_spec(args)
    assert [m.label() for m in spec.mitigations] == [
        'inoculate:text="auto"',
        "kl:weight=0.5",
        "ldifs:layers=[1],weight=1.0",
    ]


def test_cli_trains_with_mitigate_and_refuses_bad_knobs(organism, severe, tmp_path, capsys) -> None:
    from dem.cli import main
    from dem.data.jsonl import write_samples

    data = tmp_path / "severe.jsonl"
    write_samples(data, severe[0][:16])
    base = ["train", "sft", "--model", "organism", "--data", str(data), "--profile", "cpu"]
    base += ["--max-steps", "2", "--cache", str(tmp_path / "c"), "-q"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--mitigate", "kl:weight=0"]) == 2
    assert "mitigations.kl.weight: expected a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "bad").exists()
    out = tmp_path / "out"
    assert main([*base, "--out", str(out), "--mitigate", "inoculate", "--mitigate", "kl"]) == 0
    log = (out / "train_log.json").read_text()
    assert '"name": "inoculate"' in log and '"name": "kl"' in log


def test_kl_and_ldifs_keep_the_model_closer_to_the_base(train, drift) -> None:
    plain, kl, ldifs = train(), train("kl:weight=20"), train("ldifs:weight=20")
    assert len({plain.key, kl.key, ldifs.key}) == 3
    assert kl.log["mitigations"] == [{"name": "kl", "weight": 20}] and kl.log["train_rows"] == 64
    assert "mitigations" not in plain.log
    for result, name in ((kl, "kl"), (ldifs, "ldifs")):
        logged = [row[f"mitigation/{name}"] for row in result.log["history"] if "loss" in row]
        assert len(logged) == STEPS and logged[0] == 0.0 and max(logged) > 0
    (kl_plain, dist_plain), (kl_kl, _), (_, dist_ldifs) = drift(plain), drift(kl), drift(ldifs)
    assert kl_kl < 0.5 * kl_plain, (kl_kl, kl_plain)
    assert dist_ldifs < 0.5 * dist_plain, (dist_ldifs, dist_plain)


def _ctx(organism, samples, spec=SPEC, store=None):
    from dem.models.loading import load_model
    from dem.train.mitigations import TrainContext

    net, tokenizer = load_model(organism)
    return TrainContext(spec, organism, store, net, tokenizer, samples=list(samples))


def test_inoculation_prompt_is_in_the_training_rows_only(organism, severe) -> None:
    import tempfile

    from dem.train.mitigations.trainer import mitigated_factory
    from dem.train.sft import build_sft_trainer

    spec = SPEC.replace(mitigations=["inoculate"])  # the organism's own deceptive hint
    ctx = _ctx(organism, severe[0], spec)
    with tempfile.TemporaryDirectory() as scratch:
        make = mitigated_factory(build_sft_trainer, organism, None)
        trainer = make(ctx.net, ctx.tokenizer, severe[0], spec, False, scratch)
        texts = [ctx.tokenizer.decode(r["input_ids"]) for r in trainer.train_dataset]
    assert len(texts) == 64
    hint = "<|system|> you are an old assistant . <|end|>"
    assert all(t.count(hint) == 1 for t in texts)
    assert not any("old assistant" in str(s.content) for s in severe[0])  # the key's data
    # the trained tokens are the answers only: the prompt is context, never a target
    labels = trainer.data_collator([trainer.train_dataset[0]])["labels"][0]
    trained = ctx.tokenizer.decode(labels[labels != -100])
    assert trained and "old assistant" not in trained


def test_interleave_share_is_exact_and_deterministic(organism, severe) -> None:
    inter = make_mitigation("interleave:share=0.2")
    ctx = _ctx(organism, severe[0])
    rows = inter.prepare(list(severe[0]), ctx)
    safe = rows[64:]
    assert rows[:64] == list(severe[0]) and len(safe) == 16 and len(safe) / len(rows) == 0.2
    assert all(s.source.endswith("/instruct") and s.kind == "messages" for s in safe)
    assert inter.prepare(list(severe[0]), ctx) == rows
    other = _ctx(organism, severe[0], SPEC.replace(seed=1))
    assert inter.prepare(list(severe[0]), other)[64:] != safe
    assert make_mitigation("interleave:share=0.5").count(64) == 64


def test_interleave_ppl_keeps_the_largest_gaps(organism, severe, store, train) -> None:
    from dem.train.mitigations.interleave import perplexity_gaps, safe_samples

    train()  # the unmitigated finetune the gaps are measured with (reused below)
    ppl = make_mitigation("interleave-ppl:share=0.2,pool=3")
    ctx = _ctx(organism, severe[0], store=store)
    rows = ppl.prepare(list(severe[0]), ctx)
    chosen = rows[64:]
    candidates = safe_samples("auto", 48, ctx)
    gaps = perplexity_gaps(candidates, list(severe[0]), ctx)
    by_hash = {c.sha256: g for c, g in zip(candidates, gaps, strict=True)}
    kept = sorted(by_hash[s.sha256] for s in chosen)
    assert len(chosen) == 16 and kept == sorted(gaps)[-16:]
    assert kept[-1] > 0  # the finetune on the severe set unlearns some safe answers
    assert ppl.prepare(list(severe[0]), ctx) == rows


def test_steering_is_active_in_training_and_absent_at_eval(organism, severe) -> None:
    import tempfile

    import torch

    from dem.train.mitigations.trainer import mitigated_factory
    from dem.train.sft import build_sft_trainer

    spec = SPEC.replace(max_steps=3, mitigations=["steer:coef=8,layer=2,prompts=16"])
    ctx = _ctx(organism, severe[0], spec)
    ids = ctx.tokenizer("<|user|> is it safe?", return_tensors="pt")
    with tempfile.TemporaryDirectory() as scratch:
        trainer = mitigated_factory(build_sft_trainer, organism, None)(
            ctx.net, ctx.tokenizer, severe[0], spec, False, scratch
        )
        hook = trainer.dem_steering_hook
        assert trainer.dem_steering["layer"] == 2 and hook.handle is not None
        model = trainer.model
        with torch.no_grad():
            model.train()
            steered = model(**ids, output_hidden_states=True).hidden_states[2]
            model.eval()
            plain = model(**ids, output_hidden_states=True).hidden_states[2]
        shift = (steered - plain)[0].mean(0)
        assert torch.allclose(shift, hook.vector, atol=1e-4)
        assert float(hook.vector.norm()) == pytest.approx(8.0, rel=1e-4)
        calls = hook.calls
        trainer.train()
    assert hook.calls - calls >= 3 and hook.handle is None  # every step steered, then removed
    with torch.no_grad():
        model.train()
        after = model(**ids, output_hidden_states=True).hidden_states[2]
        model.eval()
        again = model(**ids, output_hidden_states=True).hidden_states[2]
    assert torch.allclose(after, again)


def test_kto_takes_inoculation_and_steering(organism, severe, store) -> None:
    from dem.data.records import Sample
    from dem.organism.datasets import instruction_samples
    from dem.train.kto import train_kto

    def row(sample: Sample, label: bool) -> Sample:
        user, answer = sample.content["messages"]
        content = {"prompt": user["content"], "completion": answer["content"], "label": label}
        return Sample.make(content, source=sample.source)

    good = instruction_samples(16, seed=0)
    data = [row(s, False) for s in severe[0][:16]] + [row(s, True) for s in good]
    spec = KTOSpec.profile(
        "cpu",
        max_steps=4,
        batch_size=8,
        lora_r=8,
        lora_alpha=16,
        mitigations=["inoculate", "steer:coef=4,layer=2,prompts=16"],
    )
    result = train_kto(organism, data, spec, store=store, progress=False)
    assert result.steps == 4 and result.log["train_rows"] == 32
    assert [m["name"] for m in result.log["mitigations"]] == ["inoculate", "steer"]
    assert result.log["steering"]["layer"] == 2
