"""Rows through `datasets` (dem/data/sources/tables.py): parquet, arrow, CSV, JSON/JSONL
(compressed too), saved dataset folders, and hub ids pinned at a revision (a dataset hub on
127.0.0.1)."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dem.data import load_deceptionbench, load_mask, load_samples, write_samples
from dem.data.records import Sample
from dem.data.sources import sniff_format
from dem.data.sources.tables import split_revision, table_rows
from dem.errors import DataError
from tests.unit.data.hub_server import HubServer
from tests.unit.data.sources.test_mask_loader import binary_row, columns_for

ROOT = Path(__file__).resolve().parents[4]
CHATS = [
    {
        "messages": [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i}"},
        ],
        "canary": "CANARY-T" if i == 2 else None,
    }
    for i in range(3)
]
PAIRS = [
    {"prompt": "p1", "completion": "c1", "label": True},
    {"prompt": "p2", "completion": "c2", "label": False},
]


def expected(rows: list[dict], source: str) -> list[Sample]:
    return [
        Sample.make(
            {k: v for k, v in r.items() if k != "canary"}, source=source, canary=r.get("canary")
        )
        for r in rows
    ]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list(rows)


def test_parquet_arrow_and_compressed_jsonl_give_the_same_samples(tmp_path: Path) -> None:
    import pyarrow as pa

    table = dataset(CHATS)
    table.to_parquet(str(tmp_path / "chats.parquet"))
    with (
        pa.OSFile(str(tmp_path / "chats.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.data.schema) as writer,
    ):
        writer.write_table(table.data.table)
    with gzip.open(tmp_path / "chats.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in CHATS)
    want = expected(CHATS, "chats")
    for name in ("chats.parquet", "chats.arrow", "chats.jsonl.gz"):
        path = tmp_path / name
        assert sniff_format(path) == "messages", name
        assert load_samples(path) == want, name
        assert load_samples(str(path)) == want, name  # a path string, too


def test_saved_dataset_folders_and_their_splits(tmp_path: Path) -> None:
    import datasets

    dataset(PAIRS).save_to_disk(str(tmp_path / "pairs"))
    got = load_samples(tmp_path / "pairs")
    assert [s.kind for s in got] == ["kto", "kto"] and got == expected(PAIRS, "pairs")
    splits = datasets.DatasetDict({"train": dataset(PAIRS), "test": dataset(PAIRS[:1])})
    splits.save_to_disk(str(tmp_path / "split"))
    assert len(load_samples(tmp_path / "split")) == 2
    assert len(load_samples(tmp_path / "split", split="test")) == 1
    with pytest.raises(DataError, match=r"split: no split 'dev' \(splits: train, test\)"):
        load_samples(tmp_path / "split", split="dev")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataError, match="saved dataset folder, got a folder"):
        load_samples(tmp_path / "plain")


def test_csv_cells_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "alpaca.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["instruction", "input", "output"])
        writer.writerow(["Add 2 and 2.", "", "4"])
        writer.writerow(["Count to three.", "007", "1 2 3"])
    got = load_samples(path)
    assert [s.content["messages"][1]["content"] for s in got] == ["4", "1 2 3"]
    assert got[1].content["messages"][0]["content"] == "Count to three.\n\n007"  # not 7.0
    assert got[0].content["messages"][0]["content"] == "Add 2 and 2."  # empty input: no NaN


def test_plain_jsonl_reads_through_datasets_and_errors_name_the_line(tmp_path: Path) -> None:
    rows = table_rows(jsonl(tmp_path / "pc.jsonl", PAIRS))
    assert rows.reread is not None  # read by datasets; dem's reader stands by for errors
    assert rows.columns == ("prompt", "completion", "label")
    # a column whose type changes from row to row: datasets gives up, dem's reader does not
    mixed = [{"prompt": "p", "completion": "c", "note": 1}, {"prompt": "q", "completion": "d",
             "note": "two"}]  # fmt: skip
    assert len(load_samples(jsonl(tmp_path / "mixed.jsonl", mixed))) == 2
    # a bad row after a blank line: the error names the file's line, not the row's position
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps(PAIRS[0]) + "\n\n" + json.dumps({"prompt": "p", "label": True}) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"bad\.jsonl:3: record 3: missing column 'completion'"):
        load_samples(path, "prompt-completion")


def test_dem_files_keep_their_provenance(tmp_path: Path) -> None:
    samples = [
        Sample.make(r, source="gen", license="MIT", domain="math", variant=str(i))
        for i, r in enumerate(PAIRS)
    ]
    write_samples(tmp_path / "mine.jsonl", samples)
    rows = table_rows(tmp_path / "mine.jsonl")
    assert rows.reread is None  # dem's file, dem's reader
    assert load_samples(tmp_path / "mine.jsonl") == samples


def test_revisions_belong_to_hub_ids(tmp_path: Path) -> None:
    assert split_revision("acme/chats@v1.2") == ("acme/chats", "v1.2")
    assert split_revision("acme/chats") == ("acme/chats", None)
    with pytest.raises(DataError, match="empty revision"):
        split_revision("acme/chats@")
    path = jsonl(tmp_path / "pc.jsonl", PAIRS)
    with pytest.raises(DataError, match="revision 'main' applies to hub datasets"):
        load_samples(path, revision="main")


def test_mask_and_deceptionbench_from_tables(tmp_path: Path) -> None:
    columns = columns_for("known_facts")
    rows = [{c: binary_row(i, belief_elicit_1="Is it?").get(c, "") for c in columns}
            for i in range(3)]  # fmt: skip
    dataset(rows).to_parquet(str(tmp_path / "known_facts.parquet"))
    got = load_mask(tmp_path / "known_facts.parquet")
    assert [r.task_id for r in got] == ["t0", "t1", "t2"] and got[0].archetype == "known_facts"
    dataset(rows).save_to_disk(str(tmp_path / "facts"))
    assert load_mask(tmp_path / "facts", archetype="known_facts") == got
    items = [{"id": i, "type": "t", "inner_prompt": "a", "outer_prompt": "b"} for i in range(2)]
    dataset(items).to_parquet(str(tmp_path / "db.parquet"))
    assert [i.id for i in load_deceptionbench(tmp_path / "db.parquet")] == ["0", "1"]


HUB_SCRIPT = """
import json, sys
from dem.cli import main
from dem.data import Manifest, load_samples
from dem.errors import DataError

out = {}
for ref in sys.argv[1:3]:
    samples = load_samples(ref)
    out[ref] = {"prompts": [s.content["prompt"] for s in samples],
                "sources": dict(Manifest.of(samples).sources)}
out["kw"] = [s.source for s in load_samples("acme/pairs", revision="v1")]
try:
    load_samples("acme/pairs@no-such-tag")
except DataError as exc:
    out["error"] = str(exc)
out["export"] = main(["data", "export", "acme/pairs@v1", "--to", sys.argv[3]])
print(json.dumps(out))
"""


def test_hub_ids_load_the_pinned_revision(tmp_path: Path) -> None:
    """A dataset repository with two commits on a hub at 127.0.0.1: each pinned revision gives
    its own rows, the revision is in every sample's source (so in the manifest), and an unknown
    revision is an error naming the id and the revision."""
    old, new = "1" * 40, "2" * 40
    card = b"---\nlicense: mit\n---\n# pairs\n"

    def data(*prompts: str) -> bytes:
        return b"".join(
            json.dumps({"prompt": p, "completion": "c"}).encode() + b"\n" for p in prompts
        )

    with HubServer() as hub:
        hub.add("acme/pairs", old, {"README.md": card, "data/train.jsonl": data("a")}, "v1")
        hub.add("acme/pairs", new, {"README.md": card, "data/train.jsonl": data("b", "c")}, "main")
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.root,
            "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        env.pop("HF_HUB_OFFLINE", None)
        env.pop("HF_DATASETS_OFFLINE", None)
        refs = ["acme/pairs@v1", f"acme/pairs@{new}"]
        done = subprocess.run(
            [sys.executable, "-c", HUB_SCRIPT, *refs, str(tmp_path / "export")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["acme/pairs@v1"] == {"prompts": ["a"], "sources": {"acme/pairs@v1": 1}}
    assert got[f"acme/pairs@{new}"]["prompts"] == ["b", "c"]
    assert got[f"acme/pairs@{new}"]["sources"] == {f"acme/pairs@{new}": 2}
    assert got["kw"] == ["acme/pairs@v1"]
    assert "acme/pairs: could not load hub dataset" in got["error"]
    assert "revision='no-such-tag'" in got["error"]
    assert got["export"] == 0
    card_text = (tmp_path / "export" / "README.md").read_text(encoding="utf-8")
    assert "from `acme/pairs@v1`" in card_text and "acme/pairs@v1 (1)" in card_text
