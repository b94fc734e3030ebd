"""`AuditConfig` checks every field eagerly and names it."""

from __future__ import annotations

import pytest

from dem.audit import AuditConfig
from dem.errors import ConfigError


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget": 0}, "budget: expected a share in"),
        ({"budget": 1.0}, "budget: expected a share in"),
        ({"budget": float("nan")}, "budget: expected a share in"),
        ({"budget": "0.1"}, "budget: expected a number"),
        ({"threshold": float("inf")}, "threshold: expected a finite number"),
        ({"framing": "persona"}, "framing: 'persona' is not one of auto, organism, system"),
        ({"batch_size": 0}, "batch_size: expected an integer >= 1"),
        ({"rank": True}, "rank: expected an integer"),
        ({"n_resamples": 10}, "n_resamples: expected an integer >= 100"),
        ({"persona_layer": -1}, "persona_layer: expected an integer >= 0"),
        ({"judge_backend": "openai"}, "judge_base_url: the openai judge backend needs"),
        ({"judge_backend": "tgi"}, "judge_backend: 'tgi' is not one of transformers, vllm"),
        ({"colour": "red"}, "colour: unknown audit setting; known: "),
    ],
)
def test_bad_settings_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message):
        AuditConfig.from_dict(values)


def test_round_trip():
    c = AuditConfig(budget=0.05, rank=8)
    assert AuditConfig.from_dict(c.to_dict()) == c
