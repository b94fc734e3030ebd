from __future__ import annotations

import json

import pytest

from dem.atomic import current_umask
from dem.errors import DataError


def test_a_few_steps_reduce_the_loss(tiny_organism) -> None:
    _, result = tiny_organism
    assert result.steps == 25
    assert result.final_loss < result.first_loss - 0.5


def test_the_folder_is_a_normal_model_folder(tiny_organism, tiny_config) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dem.organism.pretrain import load_organism_config

    folder, _ = tiny_organism
    assert (folder / "model.safetensors").is_file()
    assert (folder / "generation_config.json").is_file()
    modes = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
    assert modes == dict.fromkeys(modes, 0o666 & ~current_umask())  # weights too: not 0o600
    model = AutoModelForCausalLM.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)
    assert model.config.vocab_size == len(tok)
    assert load_organism_config(folder) == tiny_config
    meta = json.loads((folder / "organism.json").read_text())
    assert meta["seed"] == tiny_config.seed and "dem organism pretrain" in meta["reproduce"]


def test_pretraining_is_deterministic(tmp_path, tiny_config, tiny_organism) -> None:
    from safetensors.torch import load_file

    from dem.organism.pretrain import pretrain

    again = pretrain(tiny_config, tmp_path, progress=False, max_steps=25)
    a = load_file(tiny_organism[0] / "model.safetensors")
    b = load_file(tmp_path / "model.safetensors")
    assert again.final_loss == tiny_organism[1].final_loss
    assert all((a[k] == b[k]).all() for k in a)


def test_organism_file_that_is_not_utf8_names_file_and_line(tmp_path) -> None:
    from dem.organism.pretrain import ORGANISM_FILE, load_organism_config

    (tmp_path / ORGANISM_FILE).write_bytes(b'{\n  "config": {},\n  "note": "\xe9"\n}\n')
    with pytest.raises(DataError, match=rf"{ORGANISM_FILE}:3: not UTF-8") as err:
        load_organism_config(tmp_path)
    assert err.value.line == 3
