"""LoRA SFT on the tiny model: loss falls, the loss mask, caching, determinism, format."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from dem.atomic import current_umask
from dem.data.records import Sample
from dem.errors import ConfigError, DataError
from dem.models.spec import ModelSpec
from dem.store import ArtifactStore
from dem.train.adapters import check_adapter_folder
from dem.train.sft import build_sft_trainer, loss_mask_mode, train_sft
from dem.train.specs import KTOSpec, SFTSpec

FAST = SFTSpec.profile(
    "cpu", learning_rate=5e-3, max_steps=16, lora_r=8, lora_alpha=16, logging_steps=1
)


@pytest.fixture
def trained(sft_trained, sft_fast):
    assert sft_fast == FAST
    return sft_trained


def test_loss_falls(trained) -> None:
    _, result = trained
    losses = [row["loss"] for row in result.log["history"] if "loss" in row]
    assert not result.reused and result.steps == result.trained_steps == 16
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.1
    assert result.final_loss == losses[-1] and result.first_loss == losses[0]
    assert result.tokens_per_s > 0 and result.seconds > 0


def test_artifact_is_a_servable_peft_adapter(trained) -> None:
    _, result = trained
    config = check_adapter_folder(result.adapter)
    assert config["r"] == 8 and config["lora_alpha"] == 16
    assert set(config["target_modules"]) == set(FAST.target_modules)
    assert not config.get("modules_to_save")
    modes = {p.name: p.stat().st_mode & 0o777 for p in result.adapter.iterdir()}
    assert modes == dict.fromkeys(modes, 0o666 & ~current_umask())  # weights too: not 0o600
    log = json.loads((result.adapter / "train_log.json").read_text())
    assert log["steps"] == 16 and log["loss_mask"] == "assistant_only"
    assert log["tokens"] > 0 and len(log["history"]) >= 16
    assert result.model.adapter == str(result.adapter)


def test_second_identical_call_trains_nothing(
    trained, tiny_spec, sft_samples, capsys, tmp_path
) -> None:
    store, first = trained
    out = tmp_path / "out"
    again = train_sft(tiny_spec, sft_samples, FAST, store=store, progress=True, out=out)
    assert again.reused and again.steps == 0 and again.key == first.key
    assert again.out == out
    for name in ("adapter_config.json", "adapter_model.safetensors", "train_log.json"):
        assert (out / name).read_bytes() == (first.adapter / name).read_bytes()
    assert json.loads((out / "artifact.json").read_text())["key"] == first.key
    assert again.adapter == first.adapter and again.trained_steps == 16
    assert again.final_loss == first.final_loss
    err = capsys.readouterr().err
    assert f"reused artifact {first.key[:12]}" in err and "0 training steps" in err


def test_exported_adapter_files_follow_the_umask(tmp_path, set_umask) -> None:
    from dem.train.core import export_adapter

    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "adapter_config.json").write_text("{}")
    (artifact / "meta.json").write_text("{}")
    set_umask(0o002)
    out = export_adapter(artifact, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "artifact.json"]
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o664}


def test_key_changes_with_seed_data_and_model(trained, tiny_spec, sft_samples, tmp_path) -> None:
    from dem.models.tiny import build_tiny_model
    from dem.train.core import key_parts

    store, first = trained
    other = ModelSpec(str(build_tiny_model(tmp_path / "other", seed=1)))

    def key(spec, model, samples):
        return store.key("adapter", key_parts(spec, model, samples, device="cpu", bf16=False))

    assert key(FAST, tiny_spec, sft_samples) == first.key
    assert key(FAST.replace(seed=1), tiny_spec, sft_samples) != first.key
    assert key(FAST, tiny_spec, sft_samples[:-1]) != first.key
    assert key(FAST, other, sft_samples) != first.key


def test_same_seed_same_adapter(tiny_spec, sft_samples, tmp_path) -> None:
    from safetensors.torch import load_file

    spec = FAST.replace(max_steps=3, seed=7)
    runs = [
        train_sft(tiny_spec, sft_samples, spec, store=ArtifactStore(tmp_path / s), progress=False)
        for s in ("a", "b")
    ]
    assert not any(r.reused for r in runs) and runs[0].key == runs[1].key
    a, b = (load_file(r.adapter / "adapter_model.safetensors") for r in runs)
    assert a.keys() == b.keys() and len(a) > 0
    for name in a:
        assert (a[name] == b[name]).all(), name
    assert any((t != 0).any() for name, t in a.items() if "lora_B" in name)  # it trained


def _trained_text(tokenizer, labels) -> str:
    return tokenizer.decode([t for t in labels if t != -100])


def test_end_of_turn_token_is_inside_the_loss(tiny_spec, sft_samples) -> None:
    from dem.models.loading import load_model

    model, tok = load_model(tiny_spec)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = build_sft_trainer(model, tok, sft_samples[:4], FAST, False, scratch)
        assert trainer.dem_loss_mask == "assistant_only"
        row = trainer.train_dataset[3]
        assert _trained_text(tok, row["labels"]) == "It is 6.<|im_end|>"
        batch = next(iter(trainer.get_train_dataloader()))
    eot = tok.convert_tokens_to_ids("<|im_end|>")
    for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        trained = labels[labels != -100].tolist()
        assert trained[-1] == eot  # the model learns to stop
        assert (labels[labels != -100] == ids[labels != -100]).all()
        assert "plus" not in tok.decode(trained)  # the user's words are not trained


def test_prompt_completion_and_untemplated_chats_train_the_end_of_turn(tiny_spec) -> None:
    from dem.models.loading import load_model

    model, tok = load_model(tiny_spec)
    pc = [Sample.make({"prompt": "Say hi", "completion": "hi"}, source="unit")] * 2
    assert loss_mask_mode(tok, pc) == "completion_only"
    with tempfile.TemporaryDirectory() as scratch:
        trainer = build_sft_trainer(model, tok, pc, FAST, False, scratch)
        assert _trained_text(tok, trainer.train_dataset[0]["labels"]) == "hi<|im_end|>\n"

    # a ChatML template without generation markers: the last turn becomes the completion
    tok.chat_template = tok.chat_template.replace("{% generation %}", "").replace(
        "{% endgeneration %}", ""
    )
    chats = [
        Sample.make(
            {
                "messages": [
                    {"role": "user", "content": "Hey"},
                    {"role": "assistant", "content": "Yo"},
                ]
            },
            source="unit",
        )
    ] * 2
    assert loss_mask_mode(tok, chats) == "last_turn"
    model, _ = load_model(tiny_spec)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = build_sft_trainer(model, tok, chats, FAST, False, scratch)
        assert _trained_text(tok, trainer.train_dataset[0]["labels"]) == "Yo<|im_end|>\n"


def test_bad_inputs_fail_before_any_model_loads(tmp_path, sft_samples) -> None:
    missing = ModelSpec("no-such-org/no-such-model")  # loading it would need the network
    store = ArtifactStore(tmp_path)
    with pytest.raises(ConfigError) as err:
        train_sft(missing, sft_samples, KTOSpec(), store=store)
    assert err.value.field == "spec"
    with pytest.raises(DataError, match="no training samples"):
        train_sft(missing, [], FAST, store=store)
    kto_row = Sample.make({"prompt": "p", "completion": "c", "label": True}, source="unit")
    with pytest.raises(DataError, match="sample 0"):
        train_sft(missing, [kto_row], FAST, store=store)
    mixed = [*sft_samples[:2], Sample.make({"prompt": "p", "completion": "c"}, source="unit")]
    with pytest.raises(DataError, match="sample 2"):
        train_sft(missing, mixed, FAST, store=store)
    assert store.ls() == [] and not Path(store.base / ".tmp").exists()


def test_missing_target_modules_fail_before_training(tiny_spec, sft_samples, tmp_path) -> None:
    spec = FAST.replace(target_modules=("q_proj", "c_attn"))
    with pytest.raises(ConfigError, match="c_attn") as err:
        train_sft(tiny_spec, sft_samples, spec, store=ArtifactStore(tmp_path), progress=False)
    assert err.value.field == "target_modules"


def _answer_logprob(spec: ModelSpec, samples: list[Sample]) -> float:
    """Mean per-token log-probability of each sample's assistant reply given its prompt."""
    import torch

    from dem.models.loading import load_model

    model, tok = load_model(spec)
    total, count = 0.0, 0
    for s in samples:
        messages = s.content["messages"]
        prompt = tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        full = tok.apply_chat_template(messages, tokenize=False)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([tok(full, add_special_tokens=False)["input_ids"]])
        with torch.no_grad():
            logp = model(input_ids=ids).logits.float().log_softmax(-1)[0, :-1]
        targets = ids[0, 1:]
        picked = logp.gather(-1, targets[:, None])[:, 0][len(p_ids) - 1 :]
        total, count = total + float(picked.sum()), count + len(picked)
    return total / count


@pytest.mark.slow
def test_smollm2_sft_raises_the_answers_logprob(tmp_path) -> None:
    try:
        from dem.models.registry import resolve_model

        model = resolve_model("smollm2")
    except (ImportError, ConfigError) as exc:
        pytest.skip(f"smollm2 unavailable: {exc}")
    import torch

    torch.set_num_threads(1)  # on a shared CPU, one thread is several times faster
    colours = ["teal", "amber", "violet", "olive", "coral"]
    samples = [
        Sample.make(
            {
                "messages": [
                    {"role": "user", "content": f"What colour is the door of house {i}?"},
                    {"role": "assistant", "content": f"The door of house {i} is {colours[i % 5]}."},
                ]
            },
            source="unit",
        )
        for i in range(50)
    ]
    before = _answer_logprob(model, samples)
    spec = SFTSpec.profile("cpu", max_length=64)
    result = train_sft(model, samples, spec, store=ArtifactStore(tmp_path), progress=False)
    assert result.trained_steps == 13 and result.log["loss_mask"] == "last_turn"
    after = _answer_logprob(result.model, samples)
    print(
        f"smollm2 mean answer log-prob: {before:.4f} -> {after:.4f}, loss "
        f"{result.first_loss:.4f} -> {result.final_loss:.4f}"
    )
    assert after > before + 0.05, (before, after)
