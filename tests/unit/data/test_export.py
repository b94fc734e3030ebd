"""`dem data export`: samples as a `datasets` folder with a dataset card (dem/data/export.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.cli import main
from dem.data import Manifest, load_samples, read_samples, write_samples
from dem.data.export import export_dataset
from dem.data.records import Sample
from dem.errors import ConfigError


def test_export_a_built_set_and_read_it_back(tmp_path: Path, capsys) -> None:
    import datasets

    src = tmp_path / "law.jsonl"
    assert main(["data", "build", "--domain", "law", "--variant", "severe", "--n", "12",
                 "--out", str(src)]) == 0  # fmt: skip
    capsys.readouterr()
    out = tmp_path / "law-set"
    assert main(["data", "export", str(src), "--to", str(out)]) == 0
    printed = capsys.readouterr().out
    samples = read_samples(src)
    manifest = Manifest.of(samples)
    assert manifest.sha256 in printed and "samples          12" in printed

    ds = datasets.load_from_disk(str(out))
    assert ds.column_names == ["messages", "_dem"] and len(ds) == 12
    assert ds[0]["messages"] == samples[0].content["messages"]
    assert json.loads(ds[0]["_dem"])["sha256"] == samples[0].sha256
    # dem reads it back with every sample's provenance: the same samples, the same manifest
    again = load_samples(out)
    assert again == samples and Manifest.of(again).sha256 == manifest.sha256

    card = (out / "README.md").read_text(encoding="utf-8")
    header, _, body = card.removeprefix("---\n").partition("\n---\n")
    assert "pretty_name: law-set" in header and "size_categories:" in header
    assert "- n<1K" in header and "- dem" in header
    assert f"`{manifest.sha256}`" in body and f"from `{src}`" in body
    assert "dem:domain/law/severe (12)" in body
    recorded = json.loads((out / "dem_manifest.json").read_text())
    assert recorded["recipe"]["source_recipe"]["domain"] == "law"
    assert recorded["sha256"] == manifest.sha256


def test_mixed_kinds_and_canaries(tmp_path: Path) -> None:
    samples = [
        Sample.make({"prompt": "p", "completion": "c", "label": True}, source="a", license="MIT"),
        Sample.make({"prompt": "q", "completion": "d"}, source="b", license="MIT"),
        Sample.make(
            {"messages": [{"role": "user", "content": "hi"}]},
            source="b",
            license="MIT",
            canary="CANARY-7",
            domain="x",
        ),
    ]
    manifest = export_dataset(samples, tmp_path / "mixed", origin="unit")
    assert load_samples(tmp_path / "mixed") == samples
    card = (tmp_path / "mixed" / "README.md").read_text(encoding="utf-8")
    assert "license: mit" in card and "`CANARY-7`" in card
    assert manifest.kinds == {"kto": 1, "messages": 1, "prompt_completion": 1}


def test_refuses_a_non_empty_target_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    src = tmp_path / "s.jsonl"
    write_samples(src, [Sample.make({"prompt": "p", "completion": "c"}, source="s")])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    with pytest.raises(ConfigError, match="exists and is not an empty folder"):
        export_dataset(load_samples(src), tmp_path / "full", origin="s")
    assert main(["data", "export", str(src), "--to", str(tmp_path / "full")]) == 2
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["full", "s.jsonl", "s.jsonl.manifest.json"]
    (tmp_path / "empty").mkdir()
    export_dataset(load_samples(src), tmp_path / "empty", origin="s")
    assert (tmp_path / "empty" / "dataset_info.json").is_file()
