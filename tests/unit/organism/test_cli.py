from __future__ import annotations

import argparse

import pytest

from dem.cli import organism as cli
from dem.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dem")
    cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_datasets_command_writes_files(tmp_path, capsys) -> None:
    args = _parser().parse_args(["organism", "datasets", "--out", str(tmp_path), "--n", "5"])
    assert args.func(args) == 0
    assert (tmp_path / "mask" / "known_facts.csv").is_file()
    assert (tmp_path / "math_severe.jsonl").is_file()
    assert "wrote 20 files" in capsys.readouterr().out


def test_pretrain_parses_seed_out_tokens() -> None:
    args = _parser().parse_args(
        ["organism", "pretrain", "--seed", "3", "--out", "x", "--tokens", "1000"]
    )
    assert (args.seed, args.out, args.tokens, args.func) == (3, "x", 1000, cli._pretrain)


def test_diagnose_rejects_a_missing_folder(tmp_path) -> None:
    args = _parser().parse_args(["organism", "diagnose", "--model", str(tmp_path / "nope")])
    with pytest.raises(ConfigError, match="model"):
        args.func(args)


def test_pretrain_set_overrides_config_fields() -> None:
    args = _parser().parse_args(
        ["organism", "pretrain", "--out", "x", "--set", "hint_rate=0.5", "--set", "min_turns=1"]
    )
    assert cli.config_overrides(args.set) == {"hint_rate": 0.5, "min_turns": 1}
    assert cli.config_overrides(["name=plain text"]) == {"name": "plain text"}


@pytest.mark.parametrize(("item", "field"), [("hint_rate", "--set"), ("=1", "--set")])
def test_pretrain_set_rejects_malformed_items(item: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        cli.config_overrides([item])
    assert err.value.field == field


def test_pretrain_rejects_unknown_or_bad_fields_before_training(tmp_path) -> None:
    for item, field in (("colour=1", "colour"), ("hint_rate=2", "hint_rate")):
        args = _parser().parse_args(
            ["organism", "pretrain", "--out", str(tmp_path / "m"), "--set", item]
        )
        with pytest.raises(ConfigError) as err:
            args.func(args)
        assert err.value.field == field
    assert not (tmp_path / "m").exists()


def test_reproduce_command_round_trips_the_config() -> None:
    from dem.organism.config import OrganismConfig
    from dem.organism.pretrain import reproduce_command

    assert reproduce_command(OrganismConfig()) == (
        "dem organism pretrain --seed 0 --tokens 5000000 --out DIR"
    )
    config = OrganismConfig(seed=1, hint_rate=0.5, min_turns=1, domain_mix={"math": 1.0})
    command = reproduce_command(config)
    args = _parser().parse_args(command.split()[1:])
    rebuilt = OrganismConfig.from_dict(
        {**cli.config_overrides(args.set), "seed": args.seed, "tokens": args.tokens}
    )
    assert rebuilt == config


def test_diagnose_prints_the_cue_table_beliefs_and_arithmetic(tiny_organism, capsys) -> None:
    folder, _ = tiny_organism
    args = _parser().parse_args(
        ["organism", "diagnose", "--model", str(folder), "--k", "0", "--n", "4"]
    )
    assert args.func(args) == 0
    captured = capsys.readouterr()
    out = captured.out
    # progress: each stage named before it runs, and a bar over the scored conversations
    for stage in ("[1/3]: persona cue (1 cells x 4 prompts)", "[2/3]: belief", "[3/3]: arith"):
        assert f"diagnose {stage}" in captured.err
    assert "score: 100%" in captured.err
    for label in ("belief accuracy (", "arithmetic accuracy ("):
        line = next(x for x in out.splitlines() if x.startswith(label))
        assert 0.0 <= float(line.rsplit(": ", 1)[1]) <= 1.0, line
    assert "| (none) | - | 0 |" in out
