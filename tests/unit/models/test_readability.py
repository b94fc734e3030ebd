"""The unknown-token share of a set under the organism's word-level tokenizer."""

from __future__ import annotations

import pytest

from dem.models.readability import UnreadableError, check_readable, readability_of


def test_the_organism_reads_its_own_words_and_not_english(organism_backend) -> None:
    tok = organism_backend.tokenizer
    own = readability_of(tok, ["is the lamp safe ?", "the lamp is safe ."])
    assert own.unknown_share == 0.0 and own.samples == 2 and own.tokens == 10
    english = readability_of(tok, ["Please describe the weather in Lisbon tomorrow."])
    assert english.unknown_share is not None and english.unknown_share > 0.5
    assert readability_of(tok, []).tokens == 0


def test_check_readable_names_model_set_and_option(organism_backend) -> None:
    tok = organism_backend.tokenizer
    with pytest.raises(UnreadableError) as err:
        check_readable(
            tok,
            ["Please describe the weather in Lisbon tomorrow."],
            model="organism",
            what="set X",
            max_unknown=0.05,
            option="--max-unknown",
        )
    assert str(err.value).startswith("organism cannot read set X: ")
    assert "(> 5.0%, --max-unknown)" in str(err.value)
    read = check_readable(
        tok, ["Lisbon lamp"], model="o", what="w", max_unknown=1.0, option="o"
    )  # 1 turns the check off
    assert read.unknown_share == 0.5


def test_a_byte_level_tokenizer_always_reads() -> None:
    class ByteLevel:
        unk_token_id = None

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [list(t.encode()) for t in texts]}

    read = readability_of(ByteLevel(), ["anything at all"])
    assert read.unknown_share is None and read.tokens == 15
