"""dem's own model loads print no library progress bars or known notices; everything else
(a user's warnings, library warnings outside the load, ``dem -v``) still shows."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from dem.verbosity import VERBOSE, set_verbosity

GC_WARNING = "is_gradient_checkpointing"


@pytest.fixture(scope="module")
def organism_with_adapter(tmp_path_factory: pytest.TempPathFactory):
    """The organism's spec with a small LoRA adapter (B set to a constant, so the load-time
    check sees it act); loading it through PEFT raises the gradient-checkpointing warning."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from dem.models.registry import resolve_model

    spec = resolve_model("organism")
    folder = tmp_path_factory.mktemp("adapter") / "lora"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = AutoModelForCausalLM.from_pretrained(spec.name_or_path)
        lora = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
        model = get_peft_model(base, lora)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.fill_(0.05)
        model.save_pretrained(str(folder))
    return replace(spec, adapter=str(folder))


@pytest.fixture
def bars_enabled():
    """transformers' progress bars on (their default), restored after the test."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.enable_progress_bar()
    yield
    if not was:
        hf_logging.disable_progress_bar()


def _load(spec) -> tuple[list[warnings.WarningMessage], object]:
    from dem.models.loading import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("the user's own warning, before the load", UserWarning, stacklevel=1)
        model, _ = load_model(spec)
        warnings.warn("the user's own warning, after the load", UserWarning, stacklevel=1)
        model.base_model.model.is_gradient_checkpointing  # noqa: B018 - a library warning, outside
    return caught, model


def _messages(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught]


def test_a_load_inside_dem_is_quiet_and_other_warnings_still_show(
    organism_with_adapter, bars_enabled, capfd
):
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    caught, _ = _load(organism_with_adapter)
    err = capfd.readouterr().err
    assert "Loading weights" not in err
    assert GC_WARNING not in err
    messages = _messages(caught)
    assert "the user's own warning, before the load" in messages
    assert "the user's own warning, after the load" in messages
    # Raised once, by the `is_gradient_checkpointing` read after the load, not by the load.
    assert sum(GC_WARNING in m for m in messages) == 1
    # The library state is what it was.
    assert hf_logging.is_progress_bar_enabled()
    assert hf_logging.get_verbosity() == level


def test_verbose_shows_the_libraries_load_output(organism_with_adapter, bars_enabled, capfd):
    """The control: the same load under ``dem -v`` prints the bar and raises the warning."""
    previous = set_verbosity(VERBOSE)
    try:
        caught, _ = _load(organism_with_adapter)
    finally:
        set_verbosity(previous)
    assert "Loading weights" in capfd.readouterr().err
    assert sum(GC_WARNING in m for m in _messages(caught)) == 2


def test_quiet_load_restores_state_after_an_error(bars_enabled):
    from transformers.utils import logging as hf_logging

    from dem.models.quiet import quiet_load

    level = hf_logging.get_verbosity()
    filters = list(warnings.filters)
    with pytest.raises(OSError), quiet_load():
        assert not hf_logging.is_progress_bar_enabled()
        from transformers import AutoConfig

        AutoConfig.from_pretrained(str(Path("/nonexistent/dem-model")))
    assert hf_logging.is_progress_bar_enabled()
    assert hf_logging.get_verbosity() == level
    assert warnings.filters == filters
