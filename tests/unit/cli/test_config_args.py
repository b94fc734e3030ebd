"""`add_config_arguments`: argparse flags whose type, default, help and choices come from a
config dataclass's `help_field` metadata."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from dem.cli import build_parser
from dem.cli._config_args import add_config_arguments, config_from_args
from dem.evals.mask import MaskEvalConfig
from dem.fields import help_field


@dataclass(frozen=True)
class _Config:
    name: str = help_field("A required name.")
    steps: int = help_field("Optimizer steps.", 10)
    rate: float = help_field("Learning rate, in %.", 0.5)
    mode: str = help_field("How to run.", "fast", choices=("fast", "slow"))
    shuffle: bool = help_field("Shuffle the data.", True)
    limit: int | None = help_field("Stop after N items.", None)
    raw: int = field(default=0)


NAMES = ("name", "steps", "rate", "mode", "shuffle", "limit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="x")
    add_config_arguments(parser, _Config, NAMES)
    return parser


def test_flags_take_type_default_and_choices_from_the_field():
    args = _parser().parse_args(["--name", "n"])
    assert config_from_args(args, _Config, NAMES) == _Config(name="n")
    argv = ["--name", "n", "--steps", "3", "--rate", "0.25", "--mode", "slow", "--no-shuffle"]
    argv += ["--limit", "7"]
    args = _parser().parse_args(argv)
    assert config_from_args(args, _Config, NAMES) == _Config("n", 3, 0.25, "slow", False, 7)


@pytest.mark.parametrize(
    "argv", [["--name", "n", "--mode", "medium"], ["--name", "n", "--steps", "x"], []]
)
def test_bad_values_and_missing_required_flags_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(argv)
    assert "error:" in capsys.readouterr().err


def test_help_comes_from_the_metadata_with_the_default():
    text = " ".join(_parser().format_help().split())
    assert "--steps STEPS optimizer steps (default: 10)" in text
    assert "learning rate, in % (default: 0.5)" in text
    assert "--mode {fast,slow} how to run (default: fast)" in text
    assert "--shuffle, --no-shuffle shuffle the data (default: True)" in text


def test_a_field_without_help_or_a_field_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="raw has no help"):
        add_config_arguments(argparse.ArgumentParser(), _Config, ["raw"])
    with pytest.raises(ValueError, match="no field 'nope'"):
        add_config_arguments(argparse.ArgumentParser(), _Config, ["nope"])


def test_dem_eval_mask_flags_carry_mask_eval_config_help_and_defaults():
    args = build_parser().parse_args(["eval", "mask", "--model", "m", "--data", "d"])
    defaults = MaskEvalConfig()
    for name in ("temperature", "max_new_tokens", "batch_size", "lie_k", "belief_k", "seed"):
        assert getattr(args, name) == getattr(defaults, name)
    mask = build_parser()._subparsers._group_actions[0].choices["eval"]
    mask = mask._subparsers._group_actions[0].choices["mask"]
    text = " ".join(mask.format_help().split())
    help_text = MaskEvalConfig.__dataclass_fields__["max_new_tokens"].metadata["help"]
    assert help_text.rstrip(".").lower() in text.lower()
