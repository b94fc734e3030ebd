"""The audit's self-check on the shipped organism: readability, canaries like the data, their
AUROC and recall, and canaries kept out of the user's figures."""

from __future__ import annotations

import json
import re

import pytest

from dem.audit import Dataset, audit
from dem.audit.selfcheck import (
    LowPowerError,
    SelfCheckConfig,
    check_readable,
    make_canaries,
    readability,
)
from dem.data.records import Sample
from dem.errors import ConfigError
from tests.unit.audit.conftest import organism_mix


def english_mix(n: int = 60, misaligned: int = 6) -> list[Sample]:
    """dem's English downstream set with medical severe advice mixed in."""
    from dem.data.domains import generate
    from dem.data.downstream import generate_downstream
    from dem.data.mix import mix

    samples, _ = mix(
        generate_downstream(n),
        generate("medical", "severe", misaligned, seed=1),
        misaligned / n,
        seed=0,
        n=n,
        relative_to="total",
    )
    return samples


def test_canaries_look_like_the_data_and_are_seeded(organism_reference) -> None:
    mine = organism_mix()
    canaries = make_canaries(mine, organism_reference, 12, seed=0)
    assert canaries.generator == "organism" and len(canaries.samples) == 12
    assert canaries.domains == ("code", "math", "medical", "finance", "law")
    assert {s.meta["variant"] for s in canaries.samples} == {"severe"}
    assert all(s.source.startswith("dem.organism/") for s in canaries.samples)
    again = make_canaries(mine, organism_reference, 12, seed=0)
    assert [s.sha256 for s in again.samples] == [s.sha256 for s in canaries.samples]
    assert not {s.sha256 for s in canaries.samples} & {s.sha256 for s in mine}

    english = make_canaries(english_mix(), organism_reference, 10, seed=0)
    assert english.generator == "dem" and english.domains == ("medical",)
    assert all(s.source == "dem:domain/medical/severe" for s in english.samples)

    # the data's format: prompt/completion rows with a system prompt get the same
    system = {"role": "system", "content": "you are a new assistant ."}
    pc = [
        Sample({"prompt": [system, m[0]], "completion": [m[1]]}, s.source, s.license, s.meta)
        for s in mine[:20]
        for m in [s.content["messages"]]
    ]
    dressed = make_canaries(pc, organism_reference, 10).samples
    assert all(s.content["prompt"][0] == system for s in dressed)
    assert all(s.content["completion"][0]["role"] == "assistant" for s in dressed)


def test_readability_reads_the_unknown_token_share(organism_reference) -> None:
    own = readability(organism_reference, organism_mix())
    assert own.unknown_share == 0.0 and own.tokens > 1000
    english = readability(organism_reference, english_mix())
    assert english.unknown_share is not None and english.unknown_share > 0.3
    config = SelfCheckConfig()
    check_readable(own, config, "organism")  # readable: no error
    with pytest.raises(LowPowerError, match=r"organism cannot read this data: \d+\.\d% of its"):
        check_readable(english, config, "organism")
    check_readable(english, SelfCheckConfig(allow_low_power=True), "organism")


def test_canaries_are_measured_and_never_counted(organism_reference) -> None:
    dataset = Dataset.of(organism_mix(), path="mix")
    plain = audit(dataset, organism_reference, ["contrastive"])
    canaries = make_canaries(dataset.samples, organism_reference, 20)
    checked = audit(dataset, organism_reference, ["contrastive"], canaries=canaries)
    a, b = plain.outcome("contrastive"), checked.outcome("contrastive")
    # the user's scores are the same up to batching noise, and no canary is among them
    assert len(b.scores.scores) == len(dataset.samples)
    assert b.scores.scores == pytest.approx(a.scores.scores, abs=1e-4)
    assert b.metrics is not None and a.metrics is not None
    assert b.metrics.auroc.value == pytest.approx(a.metrics.auroc.value, abs=1e-3)
    assert b.metrics.n == a.metrics.n == len(dataset.samples)
    check = checked.self_check
    assert check is not None and check.deciding.ok
    assert check.deciding.auroc.lo >= 0.7 and check.deciding.errors == 0
    got = checked.to_dict()["self_check"]
    assert got["verdict"] == "ok" and got["floor"] == 0.7 and got["canaries"]["n"] == 20
    assert got["auroc"] > 0.9 and got["ci"][0] <= got["auroc"] <= got["ci"][1]
    assert 0.0 <= got["recall"] <= 1.0 and got["reason"].startswith("ok on this data")
    assert json.loads(json.dumps(got)) == got


def test_an_unreadable_detector_is_at_chance(organism_reference) -> None:
    dataset = Dataset.of(english_mix(), path="english")
    canaries = make_canaries(dataset.samples, organism_reference, 20)
    result = audit(dataset, organism_reference, ["contrastive"], canaries=canaries)
    check = result.self_check
    assert check is not None and not check.deciding.ok
    assert check.deciding.reason().startswith(("at chance on this data", "low power on this"))
    assert " < 0.70" in check.deciding.reason()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"canaries": 5}, "--canaries: expected at least 10, got 5"),
        ({"min_power": 1.2}, "--min-power: expected an AUROC in [0.5, 1)"),
        ({"max_unknown": -0.1}, "--max-unknown: expected a share in [0, 1]"),
    ],
)
def test_bad_settings_are_named(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        SelfCheckConfig(**values)
