"""`quiet_load`: silence the libraries' per-load noise inside dem's own model loads, and only there
(`quiet_datasets`: the same for `datasets`' progress bars).

dem shows one progress bar per phase; a grid loads a model dozens of times, and each load would
otherwise print transformers' "Loading weights" bar, its generation-config notices and PEFT's
deprecation warning. The silencing is scoped to the load and restored afterwards, so warnings
raised elsewhere (a user's, or a real problem) still show; ``dem -v`` turns it off.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from dem.verbosity import VERBOSE, get_verbosity

# (message regex, category) of warnings known to be noise during a load.
KNOWN_LOAD_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # transformers 5 renamed gradient to activation checkpointing; `PeftModel.__init__` still
    # reads `is_gradient_checkpointing` (PEFT 0.18). Remove once PEFT reads the new name.
    (r".*is_gradient_checkpointing.*", FutureWarning),
)


@contextmanager
def quiet_load() -> Iterator[None]:
    """Inside: no transformers (or hub) progress bars, transformers logs at error level (its
    generation-config and loading notices), and `KNOWN_LOAD_WARNINGS` ignored. On exit the
    previous bars, log level and warning filters are restored. A no-op under ``dem -v``."""
    if get_verbosity() >= VERBOSE:
        yield
        return
    from transformers.utils import logging as hf_logging

    # transformers' progress-bar switch flips huggingface_hub's too; its states are restored.
    hub_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hub_bars = dict(hub_tqdm.progress_bar_states)
    with warnings.catch_warnings():
        for message, category in KNOWN_LOAD_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        hf_logging.set_verbosity_error()
        if bars:
            hf_logging.disable_progress_bar()
        try:
            yield
        finally:
            hf_logging.set_verbosity(level)
            if bars:
                hf_logging.enable_progress_bar()
                hub_tqdm.progress_bar_states.clear()
                hub_tqdm.progress_bar_states.update(hub_bars)


@contextmanager
def quiet_datasets() -> Iterator[None]:
    """No `datasets` progress bars inside (a local file read, a trainer's dataset preparation);
    restored on exit. A no-op under ``dem -v``."""
    if get_verbosity() >= VERBOSE:
        yield
        return
    from datasets.utils import logging as ds_logging

    was = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            ds_logging.enable_progress_bar()
