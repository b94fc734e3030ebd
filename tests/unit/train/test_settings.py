"""Any TRL trainer-config or PEFT LoraConfig field as a spec setting (dem/train/settings.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dem.errors import ConfigError
from dem.train.core import trainer_config
from dem.train.lora import lora_config
from dem.train.settings import OWNED, config_fields, route
from dem.train.specs import KTOSpec, SFTSpec


def test_flat_settings_are_routed_to_the_spec_trl_and_peft() -> None:
    spec = SFTSpec.profile(
        "cpu",
        learning_rate=3e-4,
        packing=True,
        optim="adafactor",
        use_rslora=True,
        per_device_train_batch_size=2,
        r=4,
    )
    assert spec.learning_rate == 3e-4 and spec.batch_size == 2 and spec.lora_r == 4
    assert spec.trainer_args == {"optim": "adafactor", "packing": True}
    assert spec.lora_args == {"use_rslora": True}
    # the same through explicit tables, merged with flat names
    again = SFTSpec.profile(
        "cpu",
        learning_rate=3e-4,
        trainer_args={"packing": True},
        optim="adafactor",
        lora_args={"use_rslora": True},
        per_device_train_batch_size=2,
        r=4,
    )
    assert again == spec


def test_every_field_of_the_dataclasses_is_reachable() -> None:
    from peft import LoraConfig
    from trl import KTOConfig, SFTConfig

    spec_names = SFTSpec.field_names()
    for cls in (SFTConfig, KTOConfig, LoraConfig):
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        assert set(config_fields(cls.__name__)) == names
    sft_fields = set(config_fields("SFTConfig")) | set(config_fields("LoraConfig"))
    settable = sft_fields - set(OWNED) - spec_names
    for name in sorted(settable)[:: max(1, len(settable) // 25)]:  # a sample, one by one
        routed = route(spec_names, "SFTConfig", {name: None}, "SFTSpec")
        assert name in {**routed.get("trainer_args", {}), **routed.get("lora_args", {})}


def test_an_unknown_name_names_the_closest_valid_one() -> None:
    with pytest.raises(ConfigError, match=r"learnig_rate: .*did you mean 'learning_rate'\?"):
        SFTSpec.profile("cpu", learnig_rate=1e-3)
    with pytest.raises(ConfigError, match=r"pakcing: .*SFTConfig.*did you mean 'packing'\?"):
        SFTSpec.profile("cpu", pakcing=True)
    with pytest.raises(ConfigError, match=r"use_rslroa: .*did you mean 'use_rslora'\?"):
        KTOSpec.profile("cpu", use_rslroa=True)
    # packing is SFTConfig's, not KTOConfig's
    with pytest.raises(ConfigError, match="packing: is not a setting of KTOSpec, KTOConfig"):
        KTOSpec.profile("cpu", packing=True)
    with pytest.raises(ConfigError, match=r"trainer_args\.pakcing: is not a field of SFTConfig"):
        SFTSpec.profile("cpu", trainer_args={"pakcing": True})


def test_values_are_checked_against_the_field_types() -> None:
    with pytest.raises(ConfigError, match=r"trainer_args\.packing: expected true or false"):
        SFTSpec.profile("cpu", packing="yes")
    with pytest.raises(ConfigError, match=r"lora_args\.bias: only 'none'"):
        SFTSpec.profile("cpu", bias="all")
    with pytest.raises(ConfigError, match=r"trainer_args\.neftune_noise_alpha: expected"):
        SFTSpec.profile("cpu", neftune_noise_alpha="loud")
    with pytest.raises(ConfigError, match="not a plain JSON value"):
        SFTSpec.profile("cpu", trainer_args={"optim_args": object()})


@pytest.mark.parametrize(
    ("name", "value", "why"),
    [
        ("output_dir", "/tmp/x", "scratch folder"),
        ("completion_only_loss", False, "loss mask"),
        ("modules_to_save", ["lm_head"], "servable"),
        ("use_dora", True, "DoRA"),
        ("init_lora_weights", "pissa", "rewrites the base model"),
    ],
)
def test_fields_dem_owns_are_refused_with_the_reason(name: str, value: object, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        SFTSpec.profile("cpu", **{name: value})


def test_a_spec_field_cannot_hide_in_the_tables() -> None:
    with pytest.raises(ConfigError, match=r"trainer_args\.learning_rate: .*set learning_rate"):
        SFTSpec.profile("cpu", trainer_args={"learning_rate": 1e-3})
    with pytest.raises(ConfigError, match=r"lora_args\.r: .*set lora_r"):
        SFTSpec.profile("cpu", lora_args={"r": 4})
    with pytest.raises(ConfigError, match=r"per_device_train_batch_size: is SFTSpec\.batch_size"):
        SFTSpec.profile("cpu", per_device_train_batch_size=2, batch_size=4)


def test_settings_enter_the_cache_key_and_trackers_do_not() -> None:
    base = SFTSpec.profile("cpu")
    packed = base.replace(packing=True)
    assert packed.trainer_args == {"packing": True}
    assert packed.to_dict() != base.to_dict()
    assert packed.to_dict()["trainer_args"] == {"packing": True}
    assert base.replace(use_rslora=True).to_dict()["lora_args"] == {"use_rslora": True}
    # replace merges into the tables
    both = packed.replace(optim="adafactor")
    assert both.trainer_args == {"optim": "adafactor", "packing": True}
    # where a run is reported does not change what it trains
    reported = base.replace(report_to=["tensorboard"], logging_dir="/tmp/tb")
    assert reported.report_to == ("tensorboard",)
    assert reported.to_dict() == base.to_dict()
    assert "report_to" not in base.to_dict() and "logging_dir" not in base.to_dict()


def test_report_to_names_known_trackers() -> None:
    assert SFTSpec.profile("cpu", report_to="tensorboard").report_to == ("tensorboard",)
    assert SFTSpec.profile("cpu", report_to="none").report_to == ()
    with pytest.raises(ConfigError, match="report_to: 'tensorbord' is not one of"):
        SFTSpec.profile("cpu", report_to=["tensorbord"])
    with pytest.raises(ConfigError, match="report_to: 'all' is not one of"):
        SFTSpec.profile("cpu", report_to="all")  # what 'all' means depends on the machine


def test_the_configs_carry_the_settings(tmp_path) -> None:
    spec = SFTSpec.profile(
        "cpu",
        packing=True,
        optim="adafactor",
        report_to=["tensorboard"],
        use_rslora=True,
        lora_dropout=0.1,
    )
    config = trainer_config(spec, bf16=False, output_dir=str(tmp_path))
    assert type(config).__name__ == "SFTConfig"
    assert config.packing is True and config.optim == "adafactor"
    assert config.report_to == ["tensorboard"] and config.learning_rate == spec.learning_rate
    lora = lora_config(spec)
    assert lora.use_rslora is True and lora.r == spec.lora_r and lora.lora_dropout == 0.1
    kto = KTOSpec.profile("cpu", precompute_ref_log_probs=True)
    assert trainer_config(kto, bf16=False, output_dir=str(tmp_path)).precompute_ref_log_probs


def test_a_value_trl_refuses_is_a_config_error(tiny_spec, sft_samples, tmp_path) -> None:
    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    spec = SFTSpec.profile("cpu", optim="no-such-optimizer")  # a string, as the type allows
    with pytest.raises(ConfigError, match="trainer_args: SFTConfig refused the settings"):
        trainer_config(spec, bf16=False, output_dir=str(tmp_path))
    store = ArtifactStore(tmp_path / "c")
    with pytest.raises(ConfigError, match="no-such-optimizer"):
        train_sft(tiny_spec, sft_samples, spec, store=store, progress=False)
    assert not list((tmp_path / "c" / "artifacts").glob("adapter/*"))


def test_training_applies_the_settings(tiny_spec, sft_samples, tmp_path) -> None:
    """A TRL field and a PEFT field the spec does not name reach the trainer and the adapter."""
    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    spec = SFTSpec.profile(
        "cpu", max_steps=4, logging_steps=2, logging_first_step=False, use_rslora=True, r=4
    )
    result = train_sft(
        tiny_spec, sft_samples, spec, store=ArtifactStore(tmp_path / "c"), progress=False
    )
    assert [row["step"] for row in result.log["history"] if "loss" in row] == [2, 4]
    config = json.loads((result.adapter / "adapter_config.json").read_text())
    assert config["use_rslora"] is True and config["r"] == 4
    assert result.log["key"] == result.key


def test_report_to_tensorboard_writes_event_files(tiny_spec, sft_samples, tmp_path) -> None:
    pytest.importorskip("tensorboard")
    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    spec = SFTSpec.profile(
        "cpu", max_steps=2, logging_steps=1, report_to="tensorboard", run_name="unit"
    )
    store = ArtifactStore(tmp_path / "c")
    result = train_sft(tiny_spec, sft_samples, spec, store=store, progress=False)
    folder = tmp_path / "c" / "runs" / f"sft-{result.key[:12]}"
    assert result.log["logging_dir"] == str(folder)
    events = list(folder.rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    # an explicit folder; the same adapter (report_to is not in the key) is reused, not reported
    again = train_sft(
        tiny_spec, sft_samples, spec.replace(logging_dir=str(tmp_path / "tb")), store=store
    )
    assert again.reused and again.key == result.key and not (tmp_path / "tb").exists()


def test_a_missing_tracker_fails_before_training(tiny_spec, sft_samples, tmp_path) -> None:
    import importlib.util

    from dem.store import ArtifactStore
    from dem.train.sft import train_sft

    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    spec = SFTSpec.profile("cpu", max_steps=2, report_to="wandb")
    store = ArtifactStore(tmp_path / "c")
    with pytest.raises(ConfigError, match="report_to: wandb is not installed: pip install wandb"):
        train_sft(tiny_spec, sft_samples, spec, store=store, progress=False)
    assert not (tmp_path / "c" / "artifacts" / "adapter").exists()
