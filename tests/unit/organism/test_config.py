from __future__ import annotations

import pytest

from dem.errors import ConfigError
from dem.organism.config import OrganismConfig


def test_every_field_has_help() -> None:
    helps = OrganismConfig().help()
    assert helps and all(h.strip() for h in helps.values())


def test_round_trip() -> None:
    c = OrganismConfig(seed=3, tokens=1000)
    assert OrganismConfig.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"slip_rate": 1.5}, "slip_rate"),
        ({"hint_rate": 2.0}, "hint_rate"),
        ({"pressure_against_rate": -0.1}, "pressure_against_rate"),
        ({"n_items": 2}, "n_items"),
        ({"n_heldout_templates": 6}, "n_heldout_templates"),
        ({"domain_mix": {"poetry": 1.0}}, "domain_mix"),
        ({"hidden_size": 30, "num_heads": 4}, "hidden_size"),
        ({"min_turns": 4, "max_turns": 2}, "max_turns"),
    ],
)
def test_bad_values_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        OrganismConfig(**changes)
    assert err.value.field == field


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="colour"):
        OrganismConfig.from_dict({"colour": 1})
