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
