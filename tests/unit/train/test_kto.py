"""LoRA KTO on the tiny model: reward margins rise; caching; input checks."""

from __future__ import annotations

import pytest

from dem.data.records import Sample
from dem.errors import DataError
from dem.models.spec import ModelSpec
from dem.store import ArtifactStore
from dem.train.adapters import check_adapter_folder
from dem.train.kto import train_kto
from dem.train.specs import KTOSpec

FAST = KTOSpec.profile(
    "cpu", learning_rate=5e-3, max_steps=8, lora_r=8, lora_alpha=16, logging_steps=1
)


def test_reward_margins_rise_and_the_adapter_is_reused(tiny_spec, kto_data, tmp_path) -> None:
    store = ArtifactStore(tmp_path)
    result = train_kto(tiny_spec, kto_data, FAST, store=store, progress=False)
    margins = [row["rewards/margins"] for row in result.log["history"] if "rewards/margins" in row]
    assert result.steps == 8 and len(margins) == 8
    assert margins[0] == pytest.approx(0.0, abs=1e-6)  # policy == reference at the start
    assert margins[-1] > margins[0] + 0.1
    assert sum(margins[-3:]) / 3 > sum(margins[:3]) / 3
    assert result.final_loss < result.first_loss
    check_adapter_folder(result.adapter)

    again = train_kto(tiny_spec, kto_data, FAST, store=store, progress=False)
    assert again.reused and again.steps == 0 and again.key == result.key
    sft_key = store.ls()[0].meta["parts"]["method"]
    assert sft_key == "kto"


def test_kto_needs_labelled_rows_with_both_labels(kto_data, tmp_path) -> None:
    missing = ModelSpec("no-such-org/no-such-model")
    store = ArtifactStore(tmp_path)
    chat = Sample.make(
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
        source="unit",
    )
    with pytest.raises(DataError, match="sample 0"):
        train_kto(missing, [chat, chat], FAST, store=store)
    only_good = [s for s in kto_data if s.content["label"]]
    with pytest.raises(DataError, match="both labels"):
        train_kto(missing, only_good, FAST, store=store)
    assert store.ls() == []
