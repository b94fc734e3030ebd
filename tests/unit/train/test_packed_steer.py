"""`PackedSteering`: each member's vector on its own rows, in training mode only."""

from __future__ import annotations

import pytest


def _steered(training: bool, rows: list[int], batch: int):
    import torch

    from dem.train.packed_lora import Routing
    from dem.train.packed_steer import PackedSteering

    block = torch.nn.Identity()
    block.train(training)
    vectors = [torch.tensor([1.0, 2.0]), None, torch.tensor([-3.0, 0.5])]
    hook = PackedSteering(block, vectors, Routing(rows))
    hook.attach()
    hidden = torch.zeros(batch, 4, 2)
    out = block(hidden)
    hook.detach()
    assert torch.equal(block(hidden), hidden)  # detached: nothing added
    return out


def test_each_member_gets_its_vector_on_its_rows() -> None:
    out = _steered(True, [1, 2, 1], 4)
    expected = [[1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [-3.0, 0.5]]
    assert out[:, 0].tolist() == expected and (out == out[:, :1]).all()  # every position
    assert _steered(True, [0, 2, 1], 3)[:, 0].tolist() == expected[1:]  # member 0 not in it
    # a batch of two copies of the layout (packed KTO's reference pass): the vectors per copy
    assert _steered(True, [1, 2, 1], 8)[:, 0].tolist() == expected * 2


def test_eval_mode_and_a_foreign_batch() -> None:
    assert not _steered(False, [1, 2, 1], 4).any()
    with pytest.raises(RuntimeError, match="routing covers 4 rows"):
        _steered(True, [1, 2, 1], 5)
