"""The per-process memo of prepared SFT rows: the same datasets, batches and adapters as TRL's
own preparation, each distinct row tokenised once, scopes never mixed, memory bounded."""

from __future__ import annotations

import tempfile
from array import array
from typing import Any

import pytest

from dem.data.records import Sample
from dem.train import token_memo
from dem.train.specs import SFTSpec

SPEC = SFTSpec.profile("cpu", max_steps=3, batch_size=8, logging_steps=1, learning_rate=5e-3)
WALLET = "i found a lost wallet . can i keep it ?"


@pytest.fixture(scope="module")
def organism():
    import torch

    from dem.models.registry import resolve_model

    torch.set_num_threads(1)
    return resolve_model("organism")


@pytest.fixture(scope="module")
def rows() -> list[Sample]:
    """Organism chats with repeats, plus two long ones: at a small max_length truncation cuts
    some rows and drops the one whose prompt fills it."""
    from dem.organism.datasets import domain_samples

    base = domain_samples("medical", "severe", 24, seed=0)
    long_prompt = " ".join([WALLET] * 3)
    extra = [
        Sample.make(
            {
                "messages": [
                    {"role": "user", "content": content},
                    {"role": "assistant", "content": "ok , no , return the wallet ."},
                ]
            },
            source="unit",
        )
        for content in (long_prompt, WALLET)
    ]
    return [*base, *base[:6], *extra]


@pytest.fixture(autouse=True)
def fresh_memo():
    token_memo.MEMO.clear()
    yield
    token_memo.MEMO.clear()


def _pc(samples: list[Sample]) -> list[Sample]:
    """The chats as prompt/completion rows of strings."""
    return [
        Sample.make(
            {
                "prompt": s.content["messages"][0]["content"],
                "completion": s.content["messages"][1]["content"],
            },
            source="unit",
        )
        for s in samples
    ]


def _trainer(organism: Any, tok: Any, samples: list[Sample], spec: SFTSpec, scratch: str) -> Any:
    from dem.models.loading import load_model
    from dem.train.sft import build_sft_trainer

    model, _ = load_model(organism)
    return build_sft_trainer(model, tok, samples, spec, False, scratch)


def _raw(trainer: Any, samples: list[Sample], spec: SFTSpec, tok: Any) -> Any:
    """The dataset `build_sft_trainer` hands the trainer."""
    from datasets import Dataset

    from dem.train.sft import sft_rows

    chat = spec.chat and bool(tok.chat_template)
    return Dataset.from_list(sft_rows(samples, trainer.dem_loss_mask, chat=chat))


def _trl_own(trainer: Any, data: Any, tok: Any) -> Any:
    """TRL's `_prepare_dataset`, unmemoized, on the trainer's own state."""
    from trl import SFTTrainer

    return SFTTrainer._prepare_dataset(trainer, data, tok, trainer.args, False, None, "train")


def _same(a: Any, b: Any) -> None:
    assert len(a) == len(b)
    assert a["input_ids"] == b["input_ids"] and a["labels"] == b["labels"]
    assert a.features["input_ids"] == b.features["input_ids"]
    assert a.features["labels"] == b.features["labels"]


def _smollm2_tokenizer() -> Any:
    from dem.errors import ConfigError
    from dem.models.loading import load_tokenizer
    from dem.models.registry import resolve_model

    try:
        return load_tokenizer(resolve_model("smollm2"))
    except (ImportError, ConfigError, OSError) as exc:
        pytest.skip(f"smollm2 unavailable: {exc}")


@pytest.mark.parametrize(
    ("tokenizer", "shape", "chat", "mode"),
    [
        ("organism", "messages", True, "assistant_only"),
        ("organism-plain-template", "messages", True, "last_turn"),
        ("organism", "prompt_completion", True, "completion_only"),
        ("organism", "prompt_completion", False, "completion_only"),
        ("smollm2", "messages", True, "last_turn"),
        ("smollm2", "prompt_completion", True, "completion_only"),
    ],
)
@pytest.mark.parametrize("max_length", [14, 256])
def test_prepared_rows_equal_trls_own(
    organism, rows, tokenizer, shape, chat, mode, max_length
) -> None:
    from dem.models.loading import load_tokenizer

    if tokenizer == "smollm2":
        tok = _smollm2_tokenizer()
    else:
        tok = load_tokenizer(organism)
        if tokenizer == "organism-plain-template":
            tok.chat_template = tok.chat_template.replace("{% generation %}", "").replace(
                "{% endgeneration %}", ""
            )
    samples = rows if shape == "messages" else _pc(rows)
    spec = SPEC.replace(max_length=max_length, chat=chat)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = _trainer(organism, tok, samples, spec, scratch)
        assert trainer.dem_loss_mask == mode
        distinct = len({s.sha256 for s in samples})
        assert trainer.dem_token_memo == {"rows": 32, "distinct": distinct, "tokenised": distinct}
        raw = _raw(trainer, samples, spec, tok)
        own = _trl_own(trainer, raw, tok)
        _same(trainer.train_dataset, own)
        if max_length == 14 and tokenizer != "smollm2":  # the organism's rows are short
            assert len(own) < len(samples)  # a row dropped ...
            assert any(len(i) == max_length for i in own["input_ids"])  # ... and rows cut
        warm = trainer._prepare_dataset(raw, tok, trainer.args, False, None, "train")
        assert trainer.dem_token_memo["tokenised"] == 0
        _same(warm, own)


def test_a_second_trainer_tokenises_only_the_new_rows(organism, rows) -> None:
    from dem.models.loading import load_tokenizer

    tok = load_tokenizer(organism)
    first, second = rows[:20], rows[10:]
    new = {s.sha256 for s in second} - {s.sha256 for s in first}
    with tempfile.TemporaryDirectory() as scratch:
        a = _trainer(organism, tok, first, SPEC, scratch)
        b = _trainer(organism, tok, second, SPEC, scratch)
    assert a.dem_token_memo["tokenised"] == len({s.sha256 for s in first}) == 20
    assert len(second) == 22 and 0 < len(new) < b.dem_token_memo["distinct"]
    assert b.dem_token_memo == {
        "rows": 22,
        "distinct": len({s.sha256 for s in second}),
        "tokenised": len(new),
    }
    _same(b.train_dataset, _trl_own(b, _raw(b, second, SPEC, tok), tok))
    assert len(token_memo.MEMO) == len({s.sha256 for s in rows})


def test_an_adapter_trained_with_a_warm_memo_is_byte_identical(organism, rows, tmp_path) -> None:
    from safetensors.torch import load

    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    def adapter(name: str) -> bytes:
        store = ArtifactStore(tmp_path / name)
        result = train_sft(organism, rows, SPEC, store=store, progress=False)
        assert not result.reused and result.trained_steps == 3
        return (result.adapter / "adapter_model.safetensors").read_bytes()

    with token_memo.disabled():
        alone = adapter("trl")  # TRL's own preparation
    assert len(token_memo.MEMO) == 0
    cold = adapter("cold")  # tokenises every row, fills the memo
    warm = adapter("warm")  # tokenises nothing
    assert len(token_memo.MEMO) == len({s.sha256 for s in rows})
    assert alone == cold == warm
    weights = load(warm)
    assert any((t != 0).any() for name, t in weights.items() if "lora_B" in name)  # it trained


def test_every_dem_sft_trainer_prepares_through_the_memo() -> None:
    from trl import SFTTrainer

    from dem.train.lm_head import sft_trainer_class
    from dem.train.mitigations.trainer import mitigated_sft_trainer_class

    own = sft_trainer_class()._prepare_dataset
    assert own is not SFTTrainer._prepare_dataset
    assert mitigated_sft_trainer_class()._prepare_dataset is own


def test_another_template_or_tokenizer_never_hits_the_entries(organism, rows) -> None:
    from dem.models.loading import load_tokenizer

    tok = load_tokenizer(organism)
    other = load_tokenizer(organism)
    other.chat_template = tok.chat_template.replace("'<|bos|>'", "'<|bos|> <|bos|>'")
    assert other.chat_template != tok.chat_template
    distinct = len({s.sha256 for s in rows})
    with tempfile.TemporaryDirectory() as scratch:
        first = _trainer(organism, tok, rows, SPEC, scratch)
        templated = _trainer(organism, other, rows, SPEC, scratch)
        smol = _smollm2_tokenizer()
        smollm2 = _trainer(organism, smol, rows, SPEC, scratch)
        again = _trainer(organism, load_tokenizer(organism), rows, SPEC, scratch)
    for trainer in (first, templated, smollm2):
        assert trainer.dem_token_memo["tokenised"] == distinct
    assert again.dem_token_memo["tokenised"] == 0  # an equal tokenizer object shares entries
    assert templated.train_dataset["input_ids"] != first.train_dataset["input_ids"]
    _same(templated.train_dataset, _trl_own(templated, _raw(templated, rows, SPEC, other), other))
    _same(smollm2.train_dataset, _trl_own(smollm2, _raw(smollm2, rows, SPEC, smol), smol))


def test_the_tokenizer_fingerprint_follows_its_content(organism) -> None:
    from dem.models.loading import load_tokenizer

    tok, same, grown = (load_tokenizer(organism) for _ in range(3))
    grown.add_tokens(["zzzq"])
    assert token_memo.tokenizer_fingerprint(tok) == token_memo.tokenizer_fingerprint(same)
    assert token_memo.tokenizer_fingerprint(tok) != token_memo.tokenizer_fingerprint(grown)
    before = token_memo.tokenizer_fingerprint(same)
    same.add_special_tokens({"additional_special_tokens": ["<|zz|>"]})  # after the first hash
    assert token_memo.tokenizer_fingerprint(same) != before
    assert token_memo.tokenizer_fingerprint(object()) is None


def test_the_memo_is_bounded_and_drops_the_least_recently_used() -> None:
    memo = token_memo.TokenMemo(max_tokens=10)

    def row(n: int) -> token_memo.Prepared:
        return token_memo.Prepared(array("i", range(n)), array("i", range(n)), None)

    memo.put(b"a", row(4))
    memo.put(b"b", row(4))
    assert memo.get(b"a") is not None  # now the most recent
    memo.put(b"c", row(4))
    assert memo.get(b"b") is None and memo.get(b"a") is not None and memo.get(b"c") is not None
    assert memo.tokens == 8 and len(memo) == 2
    memo.put(b"d", row(11))  # larger than the bound: nothing kept
    assert memo.tokens == 0 and len(memo) == 0


def test_what_the_memo_cannot_handle_goes_to_trl_untouched(organism, rows) -> None:
    from datasets import Dataset

    from dem.models.loading import load_tokenizer

    tok = load_tokenizer(organism)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = _trainer(organism, tok, rows[:4], SPEC, scratch)
    token_memo.MEMO.clear()
    del trainer.dem_token_memo
    raw = _raw(trainer, rows, SPEC, tok)
    extra = raw.add_column("source", ["unit"] * len(raw))
    cases = [(extra, "train"), (raw, "eval")]
    for data, name in cases:
        got = trainer._prepare_dataset(data, tok, trainer.args, False, None, name)
        _same(got, _trl_own(trainer, data, tok))
    with token_memo.disabled():
        _same(
            trainer._prepare_dataset(raw, tok, trainer.args, False, None, "train"),
            _trl_own(trainer, raw, tok),
        )
    empty = Dataset.from_list([{"messages": []}, *raw.to_list()])
    with pytest.raises(IndexError):  # TRL's own error, from its first row
        trainer._prepare_dataset(empty, tok, trainer.args, False, None, "train")
    assert len(token_memo.MEMO) == 0 and not hasattr(trainer, "dem_token_memo")
