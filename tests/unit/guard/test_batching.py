"""Concurrent checks joined into batches, each caller getting its own results."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dem.guard.batching import Batcher


def test_concurrent_callers_share_batches_and_get_their_own_results():
    seen: list[list[int]] = []

    def check(items: list[int]) -> list[int]:
        seen.append(items)
        time.sleep(0.05)  # a forward pass: callers arriving meanwhile wait for the next batch
        return [10 * i for i in items]

    batcher = Batcher(check, max_batch=4)
    with ThreadPoolExecutor(10) as pool:
        got = list(pool.map(lambda i: batcher([i, i + 100]), range(10)))
    batcher.close()
    assert got == [[10 * i, 10 * (i + 100)] for i in range(10)]
    assert batcher.batches == len(seen) < 10
    assert all(len(batch) <= 4 for batch in seen)
    assert sorted(x for batch in seen for x in batch) == sorted([*range(10), *range(100, 110)])


def test_a_failed_batch_fails_each_of_its_callers():
    barrier = threading.Barrier(3)

    def check(items: list[int]) -> list[int]:
        raise RuntimeError("judge down")

    batcher = Batcher(check)

    def call(i: int) -> str:
        barrier.wait()
        with pytest.raises(RuntimeError, match="judge down"):
            batcher([i])
        return "raised"

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(call, range(3))) == ["raised"] * 3
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher([1])
