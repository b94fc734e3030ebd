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


def test_a_batch_waits_for_the_callers_announced_but_not_longer_than_max_wait():
    seen: list[list[str]] = []
    batcher = Batcher(lambda items: seen.append(items) or items, max_wait=2.0)
    ticket = batcher.announce()  # an answer still being generated

    def late() -> list[str]:
        time.sleep(0.2)
        return batcher(["late"], ticket)

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(late)
        assert batcher(["first"]) == ["first"]
        assert pending.result() == ["late"]
    assert seen == [["first", "late"]]  # one batch, gone once the late caller came
    cancelled = batcher.announce()
    cancelled.cancel()  # its answer failed: nobody waits for it
    start = time.monotonic()
    assert batcher(["next"]) == ["next"] and time.monotonic() - start < 1
    short = Batcher(lambda items: items, max_wait=0.2)
    short.announce()  # announced, never comes: the batch goes after max_wait
    start = time.monotonic()
    assert short(["alone"]) == ["alone"]
    assert 0.15 < time.monotonic() - start < 2
    short.close()
    batcher.close()
