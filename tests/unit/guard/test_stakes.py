"""High-stakes detection: topic rules from files, the caller's flag, the claim checked."""

from __future__ import annotations

import json

import pytest

from dem.errors import ConfigError, DataError
from dem.guard.stakes import Claim, TopicRule, assess, load_rules

RULES = """
[[rules]]
name = "item-safety"
pattern = "is the (?P<item>\\\\w+) safe"
proposition = "the {item} is <pivotal>safe/unsafe</pivotal> ."
belief_question = "is the {item} safe ?"
"""


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "you sell it ."}, {"role": "user", "content": text}]


def test_a_rule_file_flags_matching_requests_with_their_claim(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    rules = load_rules(path)
    got = assess(conv("a customer asks : IS the kettle safe ?"), rules)
    assert got.high and got.source == "rule:item-safety"
    assert got.claim == Claim("the kettle is <pivotal>safe/unsafe</pivotal> .")
    assert got.belief_question == "is the kettle safe ?"
    assert not assess(conv("repeat : lamp"), rules).high


def test_json_rules_load_too(tmp_path):
    path = tmp_path / "rules.json"
    rule = {
        "name": "r",
        "pattern": "lamp",
        "proposition": "the lamp is <pivotal>safe/unsafe</pivotal> .",
    }
    path.write_text(json.dumps({"rules": [rule]}))
    assert load_rules(path)[0].name == "r"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rules = 3", "non-empty 'rules'"),
        (
            '[[rules]]\nname = "x"\npattern = "("\nproposition = "a <pivotal>b/c</pivotal>"',
            "regular",
        ),
        (
            '[[rules]]\nname = "x"\npattern = "a"\nproposition = "{who} <pivotal>b/c</pivotal>"',
            "who",
        ),
        ('[[rules]]\nname = "x"\npattern = "a"\nproposition = "no pivotal"', "pivotal"),
        ('[[rules]]\nname = "x"\npattern = "a"', "missing"),
        ('[[rules]]\nname = "x"\npattern = "a"\nproposition = "p"\ncolour = "red"', "colour"),
        ("[[rules]\n", "malformed TOML"),
    ],
)
def test_bad_rule_files_name_the_file_and_rule(tmp_path, text, match):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        load_rules(path)
    assert "rules.toml" in str(info.value)


def test_the_caller_flags_requests_and_rules_fill_a_missing_claim():
    rules = [
        TopicRule(
            "r", "is the (?P<item>\\w+) safe", "the {item} is <pivotal>safe/unsafe</pivotal> ."
        )
    ]
    prop = "the sky is <pivotal>green/blue</pivotal> ."
    got = assess(conv("hello"), rules, {"high_stakes": True, "proposition": prop})
    assert got.source == "caller" and got.claim == Claim(prop)
    got = assess(conv("is the lamp safe ?"), rules, {"high_stakes": True})
    assert got.source == "caller+rule:r" and got.claim.proposition.startswith("the lamp")
    assert not assess(conv("is the lamp safe ?"), [], {"high_stakes": False}).high


@pytest.mark.parametrize(
    ("ext", "match"),
    [
        ({"high_stakes": True}, "needs a proposition"),
        ({"high_stakes": "yes"}, "true or false"),
        ({"proposition": "no pivotal here"}, "pivotal"),
        ({"proposition": "the <pivotal><value></pivotal> mm"}, "binary"),
        ({"proposition": 3}, "string"),
        ({"stakes": "high"}, "unknown keys"),
        ("high", "object"),
    ],
)
def test_bad_caller_flags_are_errors(ext, match):
    with pytest.raises(ConfigError, match=match):
        assess(conv("hello"), [], ext)
