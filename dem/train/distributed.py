"""Training under a multi-process launcher (``accelerate launch``, ``torchrun``).

Every process loads the model and trains (data-parallel, one shard of each batch per process);
the main process alone commits the adapter to the store, and the others wait for it. Whether to
train at all is the main process's decision, sent to the others, so no process trains alone
when another finds the adapter already stored. The number of processes multiplies the
effective batch, so it is part of the adapter's key.

The launcher's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``) says where a process
stands; the collectives go through `accelerate`, whose state the trainer's arguments set up.
"""

from __future__ import annotations

import os
from typing import Any


def world_size() -> int:
    """Processes in this training run (1 without a launcher)."""
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def process_device(device: str) -> str:
    """This process's device: a launcher's process trains on its local GPU (``cuda:LOCAL_RANK``)."""
    if world_size() > 1 and device.split(":")[0] in ("cuda", "xpu"):
        return f"{device.split(':')[0]}:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return device


def main_says(flag: bool, config: Any) -> bool:
    """The main process's `flag`, on every process (`config`: the trainer's arguments, which
    set up the process group as the trainer will)."""
    if world_size() == 1:
        return flag
    from accelerate.utils import broadcast_object_list

    config.device  # noqa: B018 - a property that sets up the process group
    return bool(broadcast_object_list([flag], from_process=0)[0])


def wait_for_everyone(config: Any) -> None:
    """Barrier over every process of the run (`config` as in `main_says`)."""
    if world_size() > 1:
        from accelerate import PartialState

        config.device  # noqa: B018
        PartialState().wait_for_everyone()
