"""`help_field`: the help string (and choices) travel in the dataclass field's metadata."""

from __future__ import annotations

from dataclasses import dataclass, fields

from dem.fields import help_field


@dataclass(frozen=True)
class _Config:
    name: str = help_field("Which one.", "a", choices=("a", "b"))
    sizes: list[int] = help_field("Sizes.", default_factory=lambda: [1, 2])
    count: int = help_field("How many.", 3)


def test_metadata_holds_help_and_choices():
    meta = {f.name: dict(f.metadata) for f in fields(_Config)}
    assert meta["name"] == {"help": "Which one.", "choices": ("a", "b")}
    assert meta["count"] == {"help": "How many."}
    assert meta["sizes"] == {"help": "Sizes."}


def test_defaults_and_factories_work_as_with_field():
    first, second = _Config(), _Config()
    assert (first.name, first.count, first.sizes) == ("a", 3, [1, 2])
    assert first.sizes is not second.sizes


def test_eval_configs_declare_every_field_with_help_field():
    from dem.evals.deceptionbench import DeceptionEvalConfig
    from dem.evals.mask import MaskEvalConfig

    for config in (MaskEvalConfig, DeceptionEvalConfig):
        for f in fields(config):
            assert f.metadata["help"].strip(), f"{config.__name__}.{f.name}"
