from __future__ import annotations

import json

import pytest

from dem.data.jsonl import iter_jsonl, manifest_path, read_samples, write_samples
from dem.data.records import Sample
from dem.errors import DataError


def _samples(n: int) -> list[Sample]:
    return [Sample.make({"prompt": f"q{i}", "completion": f"a{i}"}, source="t") for i in range(n)]


def test_write_read_round_trip_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    m = write_samples(a, _samples(5), recipe={"seed": 1})
    write_samples(b, _samples(5), recipe={"seed": 1})
    assert a.read_bytes() == b.read_bytes()
    assert read_samples(a) == _samples(5)
    assert json.loads(manifest_path(a).read_text())["sha256"] == m.sha256


def test_malformed_line_names_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"prompt": "a", "completion": "b"}\n\n{"prompt": oops}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:3: malformed JSON"):
        list(iter_jsonl(p))


def test_non_object_line_and_bad_sample(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text("[1, 2]\n")
    with pytest.raises(DataError, match=r"x\.jsonl:1: expected a JSON object"):
        list(iter_jsonl(p))
    p.write_text('{"prompt": "only"}\n')
    with pytest.raises(DataError, match=r"x\.jsonl:1: .*completion"):
        read_samples(p)


def test_failed_write_leaves_nothing(tmp_path):
    class Boom(Sample):
        def to_row(self):  # type: ignore[override]
            raise RuntimeError("disk on fire")

    target = tmp_path / "out.jsonl"
    bad = Boom({"prompt": "p", "completion": "c"}, "t")
    with pytest.raises(RuntimeError):
        write_samples(target, [*_samples(3), bad])
    assert list(tmp_path.iterdir()) == []


def test_invalid_utf8_names_file_and_line(tmp_path):
    p = tmp_path / "latin1.jsonl"
    p.write_bytes(
        b'{"prompt": "a", "completion": "b"}\n\n{"prompt": "caf\xe9", "completion": "b"}\n'
    )
    with pytest.raises(DataError, match=r"latin1\.jsonl:3: not UTF-8: .*column 16"):
        list(iter_jsonl(p))
    with pytest.raises(DataError, match=r"latin1\.jsonl:3: not UTF-8"):
        read_samples(p)


def test_malformed_json_message_says_at_only_once(tmp_path):
    p = tmp_path / "ctl.jsonl"
    p.write_text('{"prompt": "a\tb", "completion": "c"}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(iter_jsonl(p))
    assert str(err.value) == f"{p}:1: malformed JSON: Invalid control character (column 14)"
