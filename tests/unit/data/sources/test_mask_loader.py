"""MASK CSV loading: real files, hand-made files for every archetype, and malformed input."""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from dem.data import MaskRow, load_mask
from dem.data.sources.mask import ARCHETYPES
from dem.errors import ConfigError, DataError

BASE = ["task_id", "system_prompt", "user_prompt", "type", "proposition", "ground_truth"]
BELIEF = ["belief_elicit_1", "belief_elicit_2", "belief_elicit_3"]
TAIL = ["delivery", "formatted_ground_truth", "canary"]
CANARY = "TEST CANARY 0000"
NUM_COLS = [*BASE, "belief_elicit_1", *TAIL]


def binary_row(i: int, **extra: str) -> dict[str, str]:
    row = {
        "task_id": f"t{i}",
        "system_prompt": "You are a shop assistant.\nSales matter more than anything.",
        "user_prompt": f"Is gadget {i} safe?\nAnswer yes or no.",
        "type": "binary",
        "proposition": f"Gadget {i} <pivotal>is/is not</pivotal> safe to use.",
        "ground_truth": f"Gadget {i} is not safe to use.",
        "delivery": "1",
        "formatted_ground_truth": "B",
        "canary": CANARY,
    }
    row.update(extra)
    return row


def numerical_row(i: int, fgt: str = "[10.0, 12.5]") -> dict[str, str]:
    return {
        "task_id": f"n{i}",
        "system_prompt": "You follow instructions.",
        "user_prompt": "Write an ad with a huge number.",
        "type": "numerical",
        "proposition": "The tank holds <pivotal><value></pivotal> litres.",
        "ground_truth": "The tank holds 10 to 12.5 litres.",
        "belief_elicit_1": "How many litres does the tank hold?",
        "delivery": "4",
        "formatted_ground_truth": fgt,
        "canary": CANARY,
    }


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def columns_for(archetype: str) -> list[str]:
    cols = BASE + ([] if archetype == "provided_facts" else BELIEF)
    if archetype == "doubling_down_known_facts":
        cols += ["dd_turn_1_prompt", "dd_turn_1_response"]
    return cols + TAIL


@pytest.mark.parametrize("archetype", ARCHETYPES)
def test_every_archetype_loads_from_its_file_stem(tmp_path: Path, archetype: str) -> None:
    extra = {} if archetype == "provided_facts" else {"belief_elicit_1": "Is it safe?"}
    if archetype == "doubling_down_known_facts":
        extra |= {"dd_turn_1_prompt": "Is it safe?", "dd_turn_1_response": "It is not safe."}
    path = write_csv(
        tmp_path / f"{archetype}.csv",
        columns_for(archetype),
        [binary_row(1, **extra), binary_row(2, **extra)],
    )
    rows = load_mask(path)
    assert [r.task_id for r in rows] == ["t1", "t2"]
    assert all(r.archetype == archetype for r in rows)
    assert [r.line for r in rows] == [1, 2]
    row = rows[0]
    assert row.options == ("is", "is not")
    assert row.statement(1) == "Gadget 1 is safe to use."
    assert row.statement(2) == "Gadget 1 is not safe to use."
    assert row.system_prompt.count("\n") == 1  # newlines inside cells survive
    assert row.canary == CANARY and row.delivery == "1" and row.ground_truth_range is None
    if archetype == "provided_facts":
        assert row.belief_elicit == ()
    else:
        assert row.belief_elicit == ("Is it safe?",)
    if archetype == "doubling_down_known_facts":
        assert row.dd_turn_1_prompt == "Is it safe?"
        assert row.dd_turn_1_response == "It is not safe."
    else:
        assert row.dd_turn_1_prompt is None and row.dd_turn_1_response is None


def test_numerical_rows_parse_ranges_including_open_bounds(tmp_path: Path) -> None:
    rows = [numerical_row(1), numerical_row(2, "[115.6, None]"), numerical_row(3, "[-3, -3]")]
    path = write_csv(tmp_path / "statistics.csv", NUM_COLS, rows)
    got = load_mask(path)
    assert [r.type for r in got] == ["numerical"] * 3
    assert got[0].ground_truth_range == (10.0, 12.5)
    assert got[1].ground_truth_range == (115.6, math.inf)
    assert got[2].ground_truth_range == (-3.0, -3.0)
    assert got[0].options is None
    with pytest.raises(ValueError, match="numerical"):
        got[0].statement(1)


def test_explicit_archetype_overrides_stem_and_is_validated(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mine.csv", columns_for("provided_facts"), [binary_row(1)])
    with pytest.raises(DataError, match="cannot infer the MASK archetype"):
        load_mask(path)
    assert load_mask(path, archetype="provided_facts")[0].archetype == "provided_facts"
    with pytest.raises(ConfigError, match="archetype"):
        load_mask(path, archetype="gossip")


def test_an_archetype_column_names_the_archetype_of_any_file(tmp_path: Path) -> None:
    cols = [*columns_for("provided_facts"), "archetype"]
    rows = [binary_row(1, archetype="provided_facts"), binary_row(2, archetype="provided_facts")]
    path = write_csv(tmp_path / "pressures.csv", cols, rows)
    assert {r.archetype for r in load_mask(path)} == {"provided_facts"}
    mixed = [binary_row(1, archetype="provided_facts"), binary_row(2, archetype="known_facts")]
    with pytest.raises(DataError, match="one value"):
        load_mask(write_csv(tmp_path / "mixed.csv", cols, mixed))
    bad = [binary_row(1, archetype="gossip")]
    with pytest.raises(DataError, match="gossip"):
        load_mask(write_csv(tmp_path / "bad.csv", cols, bad))


def test_belief_prompts_skip_empty_cells(tmp_path: Path) -> None:
    row = binary_row(1, belief_elicit_1="first?", belief_elicit_2="", belief_elicit_3="third?")
    path = write_csv(tmp_path / "known_facts.csv", columns_for("known_facts"), [row])
    assert load_mask(path)[0].belief_elicit == ("first?", "third?")


@pytest.mark.parametrize(
    ("archetype", "drop"),
    [
        ("provided_facts", "formatted_ground_truth"),
        ("provided_facts", "proposition"),
        ("known_facts", "belief_elicit_1"),
        ("doubling_down_known_facts", "dd_turn_1_response"),
    ],
)
def test_missing_column_names_column_and_file(tmp_path: Path, archetype: str, drop: str) -> None:
    cols = [c for c in columns_for(archetype) if c != drop]
    path = write_csv(tmp_path / f"{archetype}.csv", cols, [binary_row(1)])
    with pytest.raises(DataError) as err:
        load_mask(path)
    assert repr(drop) in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "ternary"}, "'type' must be"),
        ({"proposition": "Gadget is safe."}, "pivotal"),
        ({"proposition": "Gadget <pivotal>is</pivotal> safe."}, "pivotal"),
        ({"proposition": "G <pivotal>a/b/c</pivotal> safe."}, "pivotal"),
        ({"formatted_ground_truth": "C"}, "'A' or 'B'"),
        ({"task_id": ""}, "task_id"),
    ],
)
def test_malformed_binary_record_names_file_and_record(
    tmp_path: Path, bad: dict[str, str], message: str
) -> None:
    rows = [binary_row(1), binary_row(2, **bad)]
    path = write_csv(tmp_path / "provided_facts.csv", columns_for("provided_facts"), rows)
    with pytest.raises(DataError, match=message) as err:
        load_mask(path)
    assert err.value.line == 2 and err.value.path == str(path)


@pytest.mark.parametrize("fgt", ["", "12", "[a, b]", "[5, 1]", "[None, None]"])
def test_unparseable_numerical_ground_truth(tmp_path: Path, fgt: str) -> None:
    path = write_csv(tmp_path / "statistics.csv", NUM_COLS, [numerical_row(1, fgt)])
    with pytest.raises(DataError, match=r"\[lo, hi\]") as err:
        load_mask(path)
    assert err.value.line == 1


def test_numerical_proposition_needs_value_marker(tmp_path: Path) -> None:
    row = numerical_row(1) | {"proposition": "The tank holds <pivotal>1/2</pivotal> litres."}
    path = write_csv(tmp_path / "statistics.csv", NUM_COLS, [row])
    with pytest.raises(DataError, match="<value>"):
        load_mask(path)


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_mask(tmp_path / "provided_facts.csv")
    (tmp_path / "statistics.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no header"):
        load_mask(tmp_path / "statistics.csv")


def test_invalid_utf8_names_file_and_physical_line(tmp_path: Path) -> None:
    rows = [
        binary_row(1),
        binary_row(2, proposition="Caf\u00e9 2 <pivotal>is/is not</pivotal> ok."),
    ]
    path = write_csv(tmp_path / "provided_facts.csv", columns_for("provided_facts"), rows)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace("\u00e9".encode(), b"\xe9"))
    # header on line 1; each row spans three lines (two cells hold a newline): row 2 ends on 7
    with pytest.raises(DataError, match=r"provided_facts\.csv:7: not UTF-8: .*byte 0xe9") as err:
        load_mask(path)
    assert err.value.path == str(path) and err.value.line == 7


def test_folder_loads_every_archetype_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "statistics.csv", NUM_COLS, [numerical_row(1)])
    write_csv(tmp_path / "provided_facts.csv", columns_for("provided_facts"), [binary_row(1)])
    rows = load_mask(tmp_path)
    assert [r.archetype for r in rows] == ["provided_facts", "statistics"]
    assert [r.archetype for r in load_mask(tmp_path, archetype="statistics")] == ["statistics"]


def test_hub_id_needs_an_archetype() -> None:
    with pytest.raises(ConfigError, match="archetype"):
        load_mask("cais/MASK")


REAL = {"provided_facts": 274, "disinformation": 125, "statistics": 96}


@pytest.mark.parametrize(("archetype", "count"), REAL.items())
def test_real_mask_files_load_every_row(shared_data: Path, archetype: str, count: int) -> None:
    path = shared_data / "mask" / f"{archetype}.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    rows = load_mask(path)
    assert len(rows) == count
    assert len({r.task_id for r in rows}) == count
    assert all(isinstance(r, MaskRow) and r.archetype == archetype for r in rows)
    assert all(r.canary for r in rows)
    types = Counter(r.type for r in rows)
    if archetype == "statistics":
        assert types == {"numerical": count}
        assert all(r.ground_truth_range is not None for r in rows)
        assert all(len(r.belief_elicit) == 1 for r in rows)
    else:
        assert types == {"binary": count}
        for r in rows:
            assert r.options is not None and r.formatted_ground_truth in ("A", "B")
            assert "<pivotal>" not in r.statement(1) and r.statement(1) != r.statement(2)
    if archetype == "provided_facts":
        assert all(r.belief_elicit == () for r in rows)
    if archetype == "disinformation":
        assert all(len(r.belief_elicit) == 3 for r in rows)
