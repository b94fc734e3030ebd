"""``dem train`` and ``dem cache`` end to end on the tiny model (these mirror dem/cli/train.py
and dem/cli/cache.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.cli import main
from dem.cli.cache import parse_duration
from dem.data.jsonl import write_samples
from dem.errors import ConfigError


@pytest.fixture
def files(tmp_path: Path, sft_samples, kto_data) -> dict[str, Path]:
    write_samples(tmp_path / "sft.jsonl", sft_samples[:8])
    write_samples(tmp_path / "kto.jsonl", kto_data[:8])
    return {"sft": tmp_path / "sft.jsonl", "kto": tmp_path / "kto.jsonl", "cache": tmp_path / "c"}


def _train(method: str, model: Path, files: dict[str, Path], out: Path, *extra: str) -> int:
    return main(
        [
            "train",
            method,
            "--model",
            str(model),
            "--data",
            str(files[method]),
            "--out",
            str(out),
            "--profile",
            "cpu",
            "--max-steps",
            "2",
            "--cache",
            str(files["cache"]),
            *extra,
        ]
    )


@pytest.mark.parametrize("method", ["sft", "kto"])
def test_train_then_identical_call_reuses(method, tiny_model_dir, files, tmp_path, capsys) -> None:
    out = tmp_path / "adapter"
    assert _train(method, tiny_model_dir, files, out, "--no-progress") == 0
    first = capsys.readouterr().out
    assert first.startswith("trained 2 steps in ")
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    key = json.loads((out / "artifact.json").read_text())["key"]

    assert _train(method, tiny_model_dir, files, tmp_path / "again") == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count(f"reused artifact {key[:12]}") == 1  # the closing line, printed once
    assert "0 training steps" in captured.err and "adapter: " in captured.out
    assert "step/s" not in captured.err  # no progress bar: nothing was trained
    assert (tmp_path / "again" / "adapter_model.safetensors").read_bytes() == (
        out / "adapter_model.safetensors"
    ).read_bytes()

    assert (
        _train(method, tiny_model_dir, files, tmp_path / "seed1", "--seed", "1", "--no-progress")
        == 0
    )
    assert capsys.readouterr().out.startswith("trained 2 steps")


def test_bad_values_fail_before_loading(tiny_model_dir, files, tmp_path, capsys) -> None:
    nowhere = tmp_path / "no-model"
    assert _train("kto", nowhere, files, tmp_path / "o", "--batch-size", "1") == 2
    assert "batch_size" in capsys.readouterr().err
    assert _train("sft", nowhere, files, tmp_path / "o", "--lr", "0") == 2
    assert "learning_rate" in capsys.readouterr().err
    assert _train("sft", nowhere, files, tmp_path / "o") == 2
    assert "no-model" in capsys.readouterr().err
    assert _train("kto", tiny_model_dir, {**files, "kto": files["sft"]}, tmp_path / "o") == 2
    assert "sample 0" in capsys.readouterr().err
    assert not (files["cache"] / "artifacts" / "adapter").exists()


def test_cache_ls_and_rm(tiny_model_dir, files, tmp_path, capsys) -> None:
    assert _train("sft", tiny_model_dir, files, tmp_path / "a", "--no-progress") == 0
    capsys.readouterr()
    cache = ["--cache", str(files["cache"])]
    assert main(["cache", "ls", *cache]) == 0
    listing = capsys.readouterr().out
    key = json.loads((tmp_path / "a" / "artifact.json").read_text())["key"]
    assert key[:12] in listing and "adapter" in listing and "sft" in listing
    assert "1 artifacts" in listing
    assert "data_sha256" in listing and "dem code" in listing  # what the key covers

    assert main(["cache", "show", key[:8], *cache]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["key"] == key and shown["parts"]["method"] == "sft"
    assert shown["code"]["modules"] == ["dem.train", "dem.models", "dem.data.records"]
    assert set(shown["versions"]) >= {"torch", "transformers", "peft", "trl"}

    assert main(["cache", "rm", key[:8], *cache]) == 0
    assert f"removed {key[:12]}" in capsys.readouterr().out
    assert main(["cache", "rm", key[:8], *cache]) == 2  # nothing left to remove
    assert main(["cache", "rm", "--older-than", "7d", *cache]) == 0
    assert "0 artifacts removed" in capsys.readouterr().out
    assert main(["cache", "rm", *cache]) == 2


def test_parse_duration() -> None:
    assert parse_duration("7d") == 7 * 86400 and parse_duration("12h") == 43200
    assert parse_duration("30m") == 1800 and parse_duration("1.5w") == 1.5 * 604800
    with pytest.raises(ConfigError):
        parse_duration("soon")


def test_set_reaches_the_spec_trl_and_peft(tiny_model_dir, files, tmp_path, capsys) -> None:
    out = tmp_path / "a"
    sets = ["--set", "use_rslora=true", "--set", "learning_rate=1e-3"]
    assert _train("sft", tiny_model_dir, files, out, "--no-progress", *sets) == 0
    assert json.loads((out / "adapter_config.json").read_text())["use_rslora"] is True
    spec = json.loads((out / "artifact.json").read_text())["parts"]["spec"]
    assert spec["lora_args"] == {"use_rslora": True} and spec["learning_rate"] == 1e-3
    assert spec["trainer_args"] == {}
    capsys.readouterr()
    # the named flags win over --set
    assert _train("sft", tiny_model_dir, files, tmp_path / "b", "--set", "learnig_rate=1") == 2
    assert "learnig_rate: " in (err := capsys.readouterr().err)
    assert "did you mean 'learning_rate'?" in err
    assert _train("sft", tiny_model_dir, files, tmp_path / "c", "--set", "learning_rate") == 2
    assert "is not FIELD=VALUE" in capsys.readouterr().err


def test_trains_on_an_exported_dataset_folder(tiny_model_dir, files, tmp_path, capsys) -> None:
    folder = tmp_path / "exported"
    assert main(["data", "export", str(files["sft"]), "--to", str(folder)]) == 0
    capsys.readouterr()
    files = {**files, "sft": folder}
    assert _train("sft", tiny_model_dir, files, tmp_path / "a", "--no-progress") == 0
    assert capsys.readouterr().out.startswith("trained 2 steps")
    # the same samples as the JSONL file: the same adapter
    spec = json.loads((tmp_path / "a" / "artifact.json").read_text())["parts"]
    assert spec["data_count"] == 8
