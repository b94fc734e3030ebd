"""Score several adapters of one base in shared forward passes: one backend view per adapter.

`AdapterPack.run(jobs)` runs each job (an evaluation: a function of a backend) in its own
thread against a view of the pack's transformers backend. A view's ``score_many`` waits until
every running view has asked (or finished), then all their requests run together in
mixed-adapter batches (PEFT's ``adapter_names``: each row through its own adapter), so K
evaluations that ask the same prompts cost the forward passes of about one. Generation is not
coalesced: a view generates alone with its adapter active (sampled texts depend on a batch's
random stream, so sharing one would change them); the base is still loaded once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from dem.models.backends.base import Completion, Conversation, GenerationConfig, Score

T = TypeVar("T")
ScoreRequest = tuple[Conversation, Sequence[str]]


class AdapterPack:
    """Views over `backend` (a `TransformersBackend` whose model is a PEFT model holding the
    adapters `names`, one view each) whose score calls are coalesced."""

    def __init__(self, backend: Any, names: Sequence[str], specs: Sequence[Any]) -> None:
        self.backend = backend
        self.names = tuple(names)
        self.views = [AdapterView(self, i, spec) for i, spec in enumerate(specs)]
        self._cond = threading.Condition()
        self._live: set[int] = set()
        self._pending: dict[int, list[ScoreRequest]] = {}
        self._done: dict[int, list[list[Score]] | BaseException] = {}
        self.passes = 0  # coalesced score calls run (benchmarks, tests)

    def run(self, jobs: Sequence[Callable[[Any], T]]) -> list[T | BaseException]:
        """``jobs[i](views[i])`` for every i, side by side; each job's value or the exception
        it raised (one job's failure does not stop the others)."""
        if len(jobs) != len(self.views):
            raise ValueError(f"{len(jobs)} jobs for {len(self.views)} adapters")
        out: list[Any] = [None] * len(jobs)
        self._live = set(range(len(jobs)))

        def work(i: int) -> None:
            try:
                out[i] = jobs[i](self.views[i])
            except BaseException as exc:  # handed back to the caller
                out[i] = exc
            finally:
                with self._cond:
                    self._live.discard(i)
                    self._flush_if_ready()

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(jobs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    # -- called by views ----------------------------------------------------------------
    def score_many(self, i: int, requests: Sequence[ScoreRequest]) -> list[list[Score]]:
        with self._cond:
            self._pending[i] = list(requests)
            self._flush_if_ready()
            while i not in self._done:
                self._cond.wait()
            got = self._done.pop(i)
        if isinstance(got, BaseException):
            raise got
        return got

    def generate(
        self, i: int, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        with self._cond:  # one forward at a time; the active adapter is this view's
            self.backend.model.set_adapter(self.names[i])
            return self.backend.generate(conversations, config)

    def _flush_if_ready(self) -> None:
        """With the lock held: run the pending requests once every live view is waiting."""
        if not self._pending or len(self._pending) < len(self._live):
            return
        pending, self._pending = self._pending, {}
        owners = sorted(pending)
        requests = [r for i in owners for r in pending[i]]
        adapters = [self.names[i] for i in owners for _ in pending[i]]
        try:
            scores = self.backend.score_many(requests, adapters, batch_scale=len(owners))
        except BaseException as exc:  # every waiting view raises it
            for i in owners:
                self._done[i] = exc
        else:
            start = 0
            for i in owners:
                self._done[i] = scores[start : start + len(pending[i])]
                start += len(pending[i])
        self.passes += 1
        self._cond.notify_all()


class AdapterView:
    """One adapter of an `AdapterPack` as a `Backend` (the rest delegates to the pack's
    backend: chat rendering, tokenizer)."""

    name = "transformers"

    def __init__(self, pack: AdapterPack, index: int, spec: Any) -> None:
        self._pack = pack
        self._index = index
        self.spec = spec

    def generate(
        self, conversations: Sequence[Conversation], config: GenerationConfig
    ) -> list[list[Completion]]:
        return self._pack.generate(self._index, conversations, config)

    def score(self, conversation: Conversation, candidates: Sequence[str]) -> list[Score]:
        return self.score_many([(conversation, candidates)])[0]

    def score_many(self, requests: Sequence[ScoreRequest]) -> list[list[Score]]:
        return self._pack.score_many(self._index, requests)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._pack.backend, attr)
