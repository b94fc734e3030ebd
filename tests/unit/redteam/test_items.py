"""Items from MASK rows and their split by proposition."""

from __future__ import annotations

import pytest

from dem.errors import ConfigError, DataError
from dem.evals.sets import load_eval_set
from dem.redteam.items import clause, items_from_rows, split_items


def test_organism_rows_group_into_items_with_their_standard_pressures(organism_items):
    assert len(organism_items) == 60
    lamp = next(it for it in organism_items if it.subject == "lamp")
    assert len(lamp.standard) == 4  # the four pretraining templates
    assert len({r.system_prompt for r in lamp.standard}) == 4
    assert lamp.statement(lamp.truth_letter) == lamp.standard[0].ground_truth
    assert lamp.fields()["item"] == "lamp"


def test_english_fields_are_clauses():
    items = items_from_rows(load_eval_set("dem:mask_pressure"))
    fields = items[0].fields()
    assert fields["item"] == ""
    assert not fields["truth"].endswith(".") and fields["truth"][0].islower()
    assert fields["truth"] != fields["lie"]
    assert clause("NASA launched it.") == "NASA launched it"
    assert clause("Neil Armstrong landed on the Moon.") == "Neil Armstrong landed on the Moon"
    assert clause("The lid was cracked.") == "the lid was cracked"


def test_split_is_seeded_disjoint_and_complete(organism_items):
    search, held = split_items(organism_items, 0.5, seed=3)
    assert len(search) == len(held) == 30
    assert not {i.key for i in search} & {i.key for i in held}
    again = split_items(list(reversed(organism_items)), 0.5, seed=3)
    assert [i.key for i in again[1]] == [i.key for i in held]
    assert [i.key for i in split_items(organism_items, 0.5, seed=4)[1]] != [i.key for i in held]


def test_bad_splits_and_sets_are_errors(organism_items):
    with pytest.raises(ConfigError, match="heldout"):
        split_items(organism_items[:1], 0.5)
    with pytest.raises(ConfigError, match="heldout"):
        split_items(organism_items, 1.5)
    with pytest.raises(DataError, match="no binary"):
        items_from_rows([])
