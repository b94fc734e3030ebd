"""`Guard`: consistency checks and abstention over any backend.

For a high-stakes request (`dem.guard.stakes`), the guard also asks the model for its belief in
a neutral context (`dem.guard.belief`), reads the production answer with the honesty judge
(MASK's A/B/C/D: ``lexical``, ``llm:MODEL`` or ``choice:MODEL``), compares the two and applies
the policy (`dem.guard.policy`): pass, flag, or abstain with the policy's stated message. Every
decision, checked or not, goes to the decision log when one is given. A judge or belief-check
failure is an ``error`` verdict (logged with its reason) and the policy's fail-closed or
fail-open choice applies; it is never read as a pass.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dem.errors import ConfigError
from dem.evals.judges.base import JudgeRequest, Verdict
from dem.guard.belief import Belief, BeliefConfig, BeliefRequest, elicit, risk
from dem.guard.log import Decision, DecisionLog
from dem.guard.policy import GuardPolicy
from dem.guard.stakes import Stakes, last_user_message

Message = dict[str, str]


@dataclass(frozen=True)
class Check:
    """The guard's reading of one answer."""

    verdict: str
    action: str
    answer_letter: str | None = None
    belief: Belief | None = None
    risk: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Guarded:
    """One guarded reply: what is served, the decision behind it."""

    served: str | None
    decision: Decision


def make_answer_judge(name: str, backend: Any) -> Any:
    """The MASK judge that reads answers (`logprob` scores a model, not an answer: refused)."""
    from dem.evals.api import make_mask_judge

    if name == "logprob":
        raise ConfigError(
            "judge", "logprob scores a model, not an answer; use lexical, llm:MODEL or choice:MODEL"
        )
    return make_mask_judge(name, backend)


class Guard:
    """Consistency checks and abstention over `backend` (see the module docstring)."""

    def __init__(
        self,
        backend: Any,
        *,
        judge: str | Any = "lexical",
        policy: GuardPolicy | None = None,
        belief: BeliefConfig | None = None,
        log: DecisionLog | None = None,
    ) -> None:
        self.backend = backend
        self.judge = make_answer_judge(judge, backend) if isinstance(judge, str) else judge
        self.policy = policy or GuardPolicy()
        self.belief = belief or BeliefConfig()
        self.log = log

    # ------------------------------------------------------------------ checking
    def _belief_request(self, conversation: Sequence[Message], stakes: Stakes) -> BeliefRequest:
        assert stakes.claim is not None
        return BeliefRequest(
            stakes.claim,
            stakes.belief_question or last_user_message(conversation),
            stakes.belief_system or self.belief.system,
        )

    def _judge(self, asks: Sequence[JudgeRequest]) -> list[Verdict]:
        if not asks:
            return []
        try:
            got = self.judge.judge(asks)
            if len(got) != len(asks):
                raise RuntimeError(f"{len(got)} verdicts for {len(asks)} answers")
            return got
        except Exception as exc:  # a failed judge is an error verdict, never a pass
            reason = f"judge failed: {type(exc).__name__}: {exc}"
            return [Verdict.failed(reason)] * len(asks)

    def check(self, items: Sequence[tuple[Sequence[Message], Stakes, str | None]]) -> list[Check]:
        """One `Check` per ``(conversation, stakes, answer)``; an answer of None (the
        generation failed) is an error."""
        out: list[Check | None] = [None] * len(items)
        todo = []
        for i, (_, stakes, answer) in enumerate(items):
            if not stakes.high:
                out[i] = Check("not_checked", "pass")
            elif stakes.claim is None:
                out[i] = self._finish(None, None, "no claim to check")
            elif answer is None:
                out[i] = self._finish(None, None, "the answer could not be generated")
            else:
                todo.append(i)
        beliefs = (
            elicit(
                self.backend,
                self.judge,
                [self._belief_request(items[i][0], items[i][1]) for i in todo],
                self.belief,
            )
            if todo
            else []
        )
        verdicts = self._judge(
            [
                JudgeRequest(items[i][1].claim, "pressure", tuple(items[i][0]), items[i][2] or "")
                for i in todo
            ]
        )
        for i, belief, verdict in zip(todo, beliefs, verdicts, strict=True):
            if not verdict.ok:
                out[i] = self._finish(None, belief, f"answer: {verdict.error}")
            elif belief.error is not None:
                out[i] = self._finish(verdict.letter, belief, belief.error)
            else:
                out[i] = self._finish(verdict.letter, belief, None)
        return [c for c in out if c is not None]

    def failed(self, reason: str) -> Check:
        """The check of an answer the guard could not check (an error verdict)."""
        return self._finish(None, None, reason)

    def _finish(self, letter: str | None, belief: Belief | None, error: str | None) -> Check:
        r = None if error is not None or letter is None or belief is None else risk(letter, belief)
        verdict = self.policy.verdict(error=error is not None, evasion=letter == "C", risk=r)
        return Check(verdict, self.policy.action_for(verdict), letter, belief, r, error)

    # ------------------------------------------------------------------ deciding and serving
    def served_text(self, answer: str | None, check: Check) -> str | None:
        return self.policy.abstention if check.action == "abstain" else answer

    def decide(
        self,
        conversation: Sequence[Message],
        stakes: Stakes,
        answer: str | None,
        check: Check,
        *,
        upstream_seconds: float | None = None,
        guard_seconds: float | None = None,
    ) -> Guarded:
        """The decision record of a checked answer, logged when the guard has a log."""
        served = self.served_text(answer, check)
        decision = Decision(
            high_stakes=stakes.high,
            source=stakes.source,
            verdict=check.verdict,
            action=check.action,
            request=list(conversation),
            answer=answer,
            served=served,
            proposition=None if stakes.claim is None else stakes.claim.proposition,
            answer_letter=check.answer_letter,
            belief=None if check.belief is None else check.belief.to_dict(),
            risk=check.risk,
            error=check.error,
            upstream_seconds=upstream_seconds,
            guard_seconds=guard_seconds,
        )
        if self.log is not None:
            self.log.record(decision)
        return Guarded(served, decision)

    def respond(
        self,
        conversations: Sequence[Sequence[Message]],
        stakes: Sequence[Stakes],
        config: Any = None,
    ) -> list[Guarded]:
        """Generate one answer per conversation with the backend, check the high-stakes ones,
        decide, log; returns what to serve."""
        from dem.models.backends.base import GenerationConfig

        config = config or GenerationConfig()
        start = time.perf_counter()
        comps = self.backend.generate([list(c) for c in conversations], config)
        upstream = (time.perf_counter() - start) / max(len(conversations), 1)
        answers = [c[0].text if c and c[0].ok else None for c in comps]
        start = time.perf_counter()
        checks = self.check(list(zip(conversations, stakes, answers, strict=True)))
        spent = (time.perf_counter() - start) / max(len(conversations), 1)
        return [
            self.decide(conv, s, a, c, upstream_seconds=upstream, guard_seconds=spent)
            for conv, s, a, c in zip(conversations, stakes, answers, checks, strict=True)
        ]
