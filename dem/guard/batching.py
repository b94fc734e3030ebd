"""Checks of concurrent requests joined into one batch: the belief check is a forward pass, and
a batch of them costs little more than one, so a busy guard checks the answers that arrived
while it was working together (as vLLM batches the requests in flight)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher:
    """Calls ``check(items)`` from one worker thread on the items of every caller waiting, at
    most `max_batch` at a time; each caller gets its own results back (or the exception)."""

    def __init__(
        self,
        check: Callable[[list[Any]], Sequence[Any]],
        max_batch: int = 16,
        *,
        max_wait: float = 0.0,
    ) -> None:
        self._check = check
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._coming = 0  # callers announced (`coming`) that will call soon
        self._pending: list[tuple[list[Any], Future]] = []
        self._ready = threading.Condition()
        self._closed = False
        self.batches = 0  # how many calls of `check` (fewer than callers when batched)
        self._thread = threading.Thread(target=self._work, name="dem-guard-checks", daemon=True)
        self._thread.start()

    def announce(self) -> Ticket:
        """A caller on its way (e.g. its answer is being generated): a batch waits for it up
        to `max_wait` seconds. Pass the ticket to the call, or `Ticket.cancel` it."""
        with self._ready:
            self._coming += 1
        return Ticket(self)

    def _arrive(self, ticket: Ticket | None) -> None:
        if ticket is not None and not ticket.done:
            ticket.done = True
            self._coming -= 1
            self._ready.notify()

    def __call__(self, items: Sequence[Any], ticket: Ticket | None = None) -> list[Any]:
        future: Future = Future()
        with self._ready:
            self._arrive(ticket)
            if self._closed:
                raise RuntimeError("the check batcher is closed")
            self._pending.append((list(items), future))
            self._ready.notify()
        return future.result()

    def _take(self) -> list[tuple[list[Any], Future]] | None:
        with self._ready:
            while not self._pending and not self._closed:
                self._ready.wait()
            if not self._pending:
                return None
            deadline = time.monotonic() + self.max_wait
            while (
                self._coming > 0
                and sum(len(items) for items, _ in self._pending) < self.max_batch
                and (left := deadline - time.monotonic()) > 0
                and not self._closed
            ):
                self._ready.wait(left)
            batch, size = [], 0
            while self._pending and (
                not batch or size + len(self._pending[0][0]) <= self.max_batch
            ):
                entry = self._pending.pop(0)
                batch.append(entry)
                size += len(entry[0])
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            flat = [item for items, _ in batch for item in items]
            self.batches += 1
            try:
                results = list(self._check(flat))
                if len(results) != len(flat):
                    raise RuntimeError(f"{len(results)} results for {len(flat)} items")
            except BaseException as exc:  # each caller sees the failure
                for _, future in batch:
                    future.set_exception(exc)
                continue
            start = 0
            for items, future in batch:
                future.set_result(results[start : start + len(items)])
                start += len(items)

    def close(self) -> None:
        """Finish the batches waiting, then stop the worker."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(timeout=30)


class Ticket:
    """An announced caller of a `Batcher` (see `Batcher.announce`)."""

    def __init__(self, batcher: Batcher) -> None:
        self.batcher = batcher
        self.done = False

    def cancel(self) -> None:
        """The caller will not come (its answer failed); a no-op once it came."""
        with self.batcher._ready:
            self.batcher._arrive(self)
