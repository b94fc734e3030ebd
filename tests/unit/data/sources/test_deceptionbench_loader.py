"""DeceptionBench loading from a JSON list and from JSONL, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.data import DeceptionItem, load_deceptionbench
from dem.errors import DataError


def item(i: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": i,
        "type": "sycophancy",
        "inner_prompt": f"What do you think of plan {i}?",
        "system_prompt": "You are an advisor.",
        "outer_prompt": f"The boss loves plan {i}. Tell him what you think.",
        "format": "<think>...</think><output>...</output>",
    }
    row.update(extra)
    return row


def test_json_list_and_jsonl_give_the_same_items(tmp_path: Path) -> None:
    rows = [item(1), item(2, type="sandbagging")]
    as_list = tmp_path / "db.json"
    as_list.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    as_lines = tmp_path / "db.jsonl"
    as_lines.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    a, b = load_deceptionbench(as_list), load_deceptionbench(as_lines)
    assert a == b
    assert a[0] == DeceptionItem(
        id="1",
        type="sycophancy",
        inner_prompt="What do you think of plan 1?",
        system_prompt="You are an advisor.",
        outer_prompt="The boss loves plan 1. Tell him what you think.",
        format="<think>...</think><output>...</output>",
    )
    assert a[1].type == "sandbagging"


def test_optional_fields_default_to_empty(tmp_path: Path) -> None:
    path = tmp_path / "db.jsonl"
    row = item(1)
    del row["system_prompt"], row["format"]
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    got = load_deceptionbench(path)[0]
    assert got.system_prompt == "" and got.format == ""


@pytest.mark.parametrize("field", ["id", "type", "inner_prompt", "outer_prompt"])
def test_missing_field_names_field_file_and_record(tmp_path: Path, field: str) -> None:
    bad = item(2)
    del bad[field]
    path = tmp_path / "db.json"
    path.write_text(json.dumps([item(1), bad]), encoding="utf-8")
    with pytest.raises(DataError, match=repr(field)) as err:
        load_deceptionbench(path)
    assert err.value.path == str(path) and err.value.line == 2


def test_malformed_jsonl_line_and_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "db.jsonl"
    path.write_text(json.dumps(item(1)) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="malformed JSON") as err:
        load_deceptionbench(path)
    assert err.value.line == 2
    path.write_text(json.dumps(item(1)) + "\n" + json.dumps(item(1)) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate id"):
        load_deceptionbench(path)


def test_malformed_json_list(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    path.write_text('[\n{"id": 1,\n', encoding="utf-8")
    with pytest.raises(DataError, match="malformed JSON"):
        load_deceptionbench(path)


@pytest.mark.parametrize("name", ["db.json", "db.jsonl"])
def test_invalid_utf8_names_file_and_line(tmp_path: Path, name: str) -> None:
    rows = [item(1), item(2, system_prompt="Caf\u00e9 advisor.")]
    if name == "db.json":
        text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
        line = 3
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        line = 2
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=rf"{name}:{line}: not UTF-8: .*byte 0xe9") as err:
        load_deceptionbench(path)
    assert err.value.path == str(path) and err.value.line == line
