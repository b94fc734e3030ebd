"""Every `dem` command and subcommand, found by walking the parser (so commands added later are
covered too), has a summary, a description and examples that parse, and renders without a
literal ``%%``."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator

import pytest

from dem.cli import GROUPS, build_parser, main
from dem.verbosity import NORMAL, QUIET, VERBOSE, get_verbosity


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("dem",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """``(command path, parser, its summary in the parent's list)``, depth first."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                for sub_path, sub, summary in _walk(child, (*path, name)):
                    yield sub_path, sub, summaries.get(name) if sub is child else summary


COMMANDS = list(_walk(build_parser()))
IDS = [" ".join(path) for path, _, _ in COMMANDS]


def _examples(parser: argparse.ArgumentParser) -> list[str]:
    lines = (line.strip() for line in (parser.epilog or "").splitlines())
    return [line for line in lines if line.startswith("dem ")]


def test_the_walk_finds_every_group_and_nested_command():
    found = {path[1] for path, _, _ in COMMANDS if len(path) > 1}
    assert set(GROUPS) <= found
    assert {
        "dem eval mask",
        "dem eval deceptionbench",
        "dem cache rm",
        "dem organism diagnose",
    } <= set(IDS)
    assert len(COMMANDS) > 20


@pytest.mark.parametrize(("path", "parser", "summary"), COMMANDS, ids=IDS)
def test_command_has_summary_description_and_examples(path, parser, summary):
    name = " ".join(path)
    if len(path) > 1:
        assert summary and summary.strip(), f"{name}: no one-line help in its parent's list"
        assert "\n" not in summary, f"{name}: the summary is one line"
    assert parser.description and parser.description.strip(), f"{name}: no description"
    examples = _examples(parser)
    assert examples, f"{name}: no example (a line starting with 'dem ') in the epilog"
    assert any(e == name or e.startswith(name + " ") for e in examples), (
        f"{name}: no example of the command itself"
    )


@pytest.mark.parametrize(("path", "parser", "summary"), COMMANDS, ids=IDS)
def test_rendered_help_has_no_literal_double_percent(path, parser, summary):
    rendered = parser.format_help()
    assert "%%" not in rendered
    assert "examples:" in rendered


@pytest.mark.parametrize(("path", "parser", "summary"), COMMANDS, ids=IDS)
def test_every_option_has_help(path, parser, summary):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        assert action.help, f"{' '.join(path)}: {action.option_strings or action.dest} has no help"


@pytest.mark.parametrize(("path", "parser", "summary"), COMMANDS, ids=IDS)
def test_examples_are_valid_command_lines(path, parser, summary, capsys):
    for example in _examples(parser):
        try:
            args = build_parser().parse_args(shlex.split(example)[1:])
        except SystemExit:
            pytest.fail(f"example does not parse: {example}\n{capsys.readouterr().err}")
        assert callable(args.func), example


def test_percent_signs_render_as_written():
    by_name = {" ".join(path): parser for path, parser, _ in COMMANDS}
    assert "0-30 % harmful-medical" in " ".join(by_name["dem demo"].format_help().split())
    assert "95 % bootstrap" in " ".join(by_name["dem eval"].format_help().split())


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["grid", "mix_ratio"], NORMAL),
        (["-q", "grid", "mix_ratio"], QUIET),
        (["--verbose", "grid", "mix_ratio"], VERBOSE),
        (["grid", "mix_ratio", "-q"], QUIET),
        (["-q", "grid", "mix_ratio", "-v"], VERBOSE),
        (["demo", "--quiet"], QUIET),
        (["eval", "mask", "--model", "m", "--data", "d", "-v"], VERBOSE),
        (["train", "sft", "--model", "m", "--data", "d", "--out", "o", "-q"], QUIET),
        (["interact", "run", "-q"], QUIET),
        (["-q", "models"], QUIET),
    ],
)
def test_quiet_and_verbose_flags_before_and_after_the_command(argv, level):
    assert build_parser().parse_args(argv).verbosity == level


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["-q", "-v", "models"])
    assert "not allowed with" in capsys.readouterr().err


def test_quiet_hides_info_lines_and_progress_but_not_results(capsys):
    """`dem organism diagnose` prints its tables on stdout and an info line on stderr."""
    argv = ["organism", "diagnose", "--k", "0", "--n", "4"]
    assert main(argv) == 0
    normal = capsys.readouterr()
    assert "persona-cue diagnostic" in normal.err
    assert main(["-q", *argv]) == 0
    quiet = capsys.readouterr()
    assert quiet.out == normal.out
    assert quiet.err == ""
    assert get_verbosity() == NORMAL  # main restores the level it found
