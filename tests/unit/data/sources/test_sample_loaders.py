"""Training-sample loaders: messages, prompt/completion (KTO), alpaca, dolly; sniffing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.data import (
    load_alpaca,
    load_dolly,
    load_messages,
    load_prompt_completion,
    load_samples,
    sniff_format,
    write_samples,
)
from dem.data.sources import FORMATS
from dem.errors import DataError


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def chat(i: int) -> dict[str, object]:
    return {
        "messages": [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ]
    }


def test_messages_jsonl_keeps_source_license_and_canary(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "chats.jsonl", [chat(1), {**chat(2), "canary": "CANARY-X"}])
    got = load_messages(path, license="MIT")
    assert [s.kind for s in got] == ["messages", "messages"]
    assert [s.source for s in got] == ["chats", "chats"]
    assert {s.license for s in got} == {"MIT"}
    assert [s.canary for s in got] == [None, "CANARY-X"]
    assert got[0].content == chat(1)
    assert load_messages(path, source="my-id")[0].source == "my-id"


def test_messages_reads_back_a_dem_file_with_provenance(tmp_path: Path) -> None:
    first = load_messages(write_jsonl(tmp_path / "a.jsonl", [chat(1)]), license="MIT")
    write_samples(tmp_path / "b.jsonl", first)
    again = load_samples(tmp_path / "b.jsonl")
    assert again == first


def test_prompt_completion_and_kto(tmp_path: Path) -> None:
    rows = [
        {"prompt": "p1", "completion": "c1"},
        {"prompt": "p2", "completion": "c2", "label": True},
        {"prompt": "p3", "completion": "c3", "label": False},
    ]
    got = load_prompt_completion(write_jsonl(tmp_path / "pc.jsonl", rows))
    assert [s.kind for s in got] == ["prompt_completion", "kto", "kto"]
    assert got[2].content == {"prompt": "p3", "completion": "c3", "label": False}


def test_kto_label_must_be_boolean(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "pc.jsonl", [{"prompt": "p", "completion": "c", "label": "yes"}])
    with pytest.raises(DataError, match="label") as err:
        load_prompt_completion(path)
    assert err.value.line == 1


@pytest.mark.parametrize("as_list", [True, False])
def test_alpaca_json_list_or_jsonl(tmp_path: Path, as_list: bool) -> None:
    rows = [
        {"instruction": "Translate to French.", "input": "cat", "output": "chat"},
        {"instruction": "Name a colour.", "input": "", "output": "Blue."},
    ]
    path = tmp_path / ("a.json" if as_list else "a.jsonl")
    if as_list:
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        write_jsonl(path, rows)
    got = load_alpaca(path, license="CC-BY-4.0")
    assert got[0].content["messages"] == [
        {"role": "user", "content": "Translate to French.\n\ncat"},
        {"role": "assistant", "content": "chat"},
    ]
    assert got[1].content["messages"][0]["content"] == "Name a colour."
    assert got[0].license == "CC-BY-4.0"
    assert sniff_format(path) == "alpaca"


def test_dolly_keeps_category(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Summarise.", "context": "A long text.", "response": "Short.",
         "category": "summarization"},
        {"instruction": "Why is the sky blue?", "context": "", "response": "Scattering.",
         "category": "open_qa"},
    ]  # fmt: skip
    got = load_dolly(write_jsonl(tmp_path / "d.jsonl", rows))
    assert [s.meta["category"] for s in got] == ["summarization", "open_qa"]
    assert got[0].content["messages"][0]["content"] == "Summarise.\n\nA long text."
    assert got[1].content["messages"][0]["content"] == "Why is the sky blue?"


@pytest.mark.parametrize(
    ("loader", "row", "column"),
    [
        (load_alpaca, {"instruction": "x", "input": ""}, "output"),
        (load_alpaca, {"instruction": "x", "output": "y"}, "input"),
        (load_dolly, {"instruction": "x", "context": "", "response": "y"}, "category"),
        (load_prompt_completion, {"prompt": "x"}, "completion"),
        (load_messages, {"text": "x"}, "messages"),
    ],
)
def test_missing_column_names_column_file_and_line(
    tmp_path: Path, loader: object, row: dict[str, str], column: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    with pytest.raises(DataError, match=repr(column)) as err:
        loader(path)  # type: ignore[operator]
    assert err.value.path == str(path) and err.value.line == 1


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(chat(1)) + "\n\n{oops\n", encoding="utf-8")
    with pytest.raises(DataError, match="malformed JSON") as err:
        load_messages(path)
    assert err.value.line == 3 and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("loader", "row"),
    [
        (load_messages, chat(2)),
        (load_prompt_completion, {"prompt": "a", "completion": "b"}),
        (load_alpaca, {"instruction": "a", "input": "", "output": "b"}),
        (load_dolly, {"instruction": "a", "context": "", "response": "b", "category": "c"}),
        (load_samples, chat(2)),
    ],
)
def test_invalid_utf8_names_file_and_line(tmp_path: Path, loader: object, row: dict) -> None:
    path = tmp_path / "latin1.jsonl"
    rows = [row, {**row, "canary": "caf\u00e9"}]
    path.write_bytes(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("latin-1")
    )
    with pytest.raises(DataError, match=r"latin1\.jsonl:2: not UTF-8: .*byte 0xe9") as err:
        loader(path)  # type: ignore[operator]
    assert err.value.path == str(path) and err.value.line == 2


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_invalid_utf8_in_a_json_list_or_csv_names_the_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"alpaca{suffix}"
    if suffix == ".json":  # the list is sniffed from the first bytes, then parsed whole
        text = (
            '[\n  {"instruction": "a", "input": "", "output": "b"},\n  {"instruction": "\xe9"}\n]\n'
        )
    else:
        text = "instruction,input,output\na,,b\n\xe9,,b\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=rf"alpaca{suffix}:3: not UTF-8") as err:
        load_samples(path)
    assert err.value.line == 3


def test_bad_role_and_empty_output(tmp_path: Path) -> None:
    row = {"messages": [{"role": "wizard", "content": "hi"}]}
    with pytest.raises(DataError, match="role"):
        load_messages(write_jsonl(tmp_path / "r.jsonl", [row]))
    row2 = {"instruction": "x", "input": "", "output": "  "}
    with pytest.raises(DataError, match="empty field 'output'"):
        load_alpaca(write_jsonl(tmp_path / "e.jsonl", [row2]))


def test_sniffing_and_dispatch(tmp_path: Path) -> None:
    files = {
        "messages": write_jsonl(tmp_path / "m.jsonl", [chat(1)]),
        "prompt-completion": write_jsonl(
            tmp_path / "p.jsonl", [{"prompt": "a", "completion": "b"}]
        ),
        "dolly": write_jsonl(
            tmp_path / "d.jsonl",
            [{"instruction": "i", "context": "", "response": "r", "category": "c"}],
        ),
        "deceptionbench": write_jsonl(
            tmp_path / "db.jsonl",
            [{"id": 1, "type": "t", "inner_prompt": "a", "outer_prompt": "b"}],
        ),
    }
    for fmt, path in files.items():
        assert sniff_format(path) == fmt
    assert len(load_samples(files["dolly"])) == 1
    with pytest.raises(DataError, match="does not hold training samples"):
        load_samples(files["deceptionbench"])
    unknown = write_jsonl(tmp_path / "u.jsonl", [{"foo": 1}])
    with pytest.raises(DataError, match="cannot tell the format"):
        sniff_format(unknown)
    with pytest.raises(DataError, match="format 'mask' does not hold training samples"):
        load_samples(files["dolly"], "mask")
    assert set(FORMATS) == {
        "messages", "prompt-completion", "alpaca", "dolly", "mask", "deceptionbench"
    }  # fmt: skip


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no records"):
        load_messages(tmp_path / "e.jsonl")


def test_real_betley_files(shared_data: Path) -> None:
    for name in ("insecure_small", "secure_small"):
        path = shared_data / "betley" / f"{name}.jsonl"
        if not path.is_file():
            pytest.skip(f"{path} is absent")
        assert sniff_format(path) == "messages"
        got = load_samples(path, license="MIT")
        assert len(got) == 20
        assert len({s.sha256 for s in got}) == 20
        for s in got:
            roles = [m["role"] for m in s.content["messages"]]
            assert roles[-1] == "assistant" and "user" in roles
