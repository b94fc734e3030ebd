"""Rollouts: the assistant talks with every user for a number of rounds; each reply is judged
(its stance against the profile's proposition) and rated by the user.

A `Trajectory` keeps every turn, every rating and stance, and the user's type; its reward is the
sum of its ratings, or None when any rating failed (such trajectories are kept, counted and never
selected). All users of a round are generated in one batched call.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dem.evals.judges.base import JudgeRequest
from dem.evals.proposition import parse_proposition
from dem.interact.profiles import Profile
from dem.interact.users import Rating, UserModel


@dataclass(frozen=True)
class PropositionRow:
    """The MASK-row face a judge needs to read a reply against a profile's proposition."""

    task_id: str
    proposition: str
    type: str = "binary"
    archetype: str = "interaction"

    @property
    def options(self) -> tuple[str, str] | None:
        return parse_proposition(self.proposition).options

    def statement(self, option: int) -> str:
        return parse_proposition(self.proposition).statement(option)


@dataclass(frozen=True)
class Trajectory:
    """One user's conversation: every message, and per assistant reply its rating and stance."""

    user_id: int
    biased: bool
    scenario: str
    messages: tuple[dict[str, str], ...]
    scores: tuple[int | None, ...]
    stances: tuple[str | None, ...]
    errors: tuple[str | None, ...]

    @property
    def ok(self) -> bool:
        return all(e is None for e in self.errors) and all(s is not None for s in self.scores)

    @property
    def reward(self) -> float | None:
        """Sum of the user's scores; None when a rating or turn failed."""
        return float(sum(s for s in self.scores if s is not None)) if self.ok else None

    def pairs(self) -> list[tuple[list[dict[str, str]], dict[str, str]]]:
        """(history, assistant reply) for every assistant turn."""
        msgs = list(self.messages)
        return [(msgs[:i], msgs[i]) for i, m in enumerate(msgs) if m["role"] == "assistant"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("messages", "scores", "stances", "errors"):
            out[key] = list(out[key])
        out["reward"] = self.reward
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        return cls(
            user_id=int(d["user_id"]),
            biased=bool(d["biased"]),
            scenario=str(d["scenario"]),
            messages=tuple(dict(m) for m in d["messages"]),
            scores=tuple(d["scores"]),
            stances=tuple(d["stances"]),
            errors=tuple(d["errors"]),
        )


def collect(
    assistant: Any,
    profiles: Sequence[Profile],
    users: UserModel,
    stance_judge: Any,
    *,
    rounds: int,
    generation: Any,
    progress: bool = True,
) -> list[Trajectory]:
    """Talk with every profile's user for `rounds` rounds; returns one trajectory per profile."""
    from dataclasses import replace

    from tqdm.auto import tqdm

    convs: list[list[dict[str, str]]] = [
        [{"role": "system", "content": p.system}, {"role": "user", "content": p.opening}]
        for p in profiles
    ]
    scores: list[list[int | None]] = [[] for _ in profiles]
    stances: list[list[str | None]] = [[] for _ in profiles]
    errors: list[list[str | None]] = [[] for _ in profiles]
    alive = [i for i, p in enumerate(profiles) if p.error is None]
    for i, p in enumerate(profiles):
        if p.error is not None:
            convs[i] = []
            errors[i].append(p.error)
    bar = tqdm(total=rounds * 3, desc="rollout", disable=not progress, file=sys.stderr)
    for r in range(rounds):
        bar.set_postfix_str(f"round {r + 1}/{rounds}: assistant")
        config = replace(generation, n=1, seed=generation.seed + 1000 * r)
        replies = assistant.generate([convs[i] for i in alive], config)
        for i, comps in zip(alive, replies, strict=True):
            c = comps[0]
            if c.ok and c.text is not None:
                convs[i].append({"role": "assistant", "content": c.text.strip()})
            else:
                errors[i].append(f"assistant: {c.error}")
        alive = [i for i in alive if convs[i][-1]["role"] == "assistant"]
        bar.update()
        bar.set_postfix_str(f"round {r + 1}/{rounds}: ratings")
        requests = [
            JudgeRequest(
                row=PropositionRow(f"user-{profiles[i].user_id}", profiles[i].proposition),
                kind="pressure",
                conversation=convs[i][:-1],
                response=convs[i][-1]["content"],
            )
            for i in alive
        ]
        verdicts = stance_judge.judge(requests) if requests else []
        ratings: list[Rating] = users.rate(
            [profiles[i] for i in alive], [convs[i] for i in alive], verdicts
        )
        for i, v, rating in zip(alive, verdicts, ratings, strict=True):
            stances[i].append(v.letter if v.error is None else None)
            scores[i].append(rating.score)
            errors[i].append(rating.error)
        bar.update()
        if r + 1 < rounds:
            bar.set_postfix_str(f"round {r + 1}/{rounds}: users")
            msgs = users.next_messages(
                [profiles[i] for i in alive], [convs[i] for i in alive], r + 1
            )
            for i, text in zip(alive, msgs, strict=True):
                if text is None:
                    errors[i].append("user: no follow-up message")
                    continue
                if profiles[i].restate_system:
                    convs[i].append({"role": "system", "content": profiles[i].system})
                convs[i].append({"role": "user", "content": text})
            alive = [i for i in alive if convs[i][-1]["role"] == "user"]
        bar.update()
    bar.close()
    return [
        Trajectory(
            user_id=p.user_id,
            biased=p.biased,
            scenario=p.scenario,
            messages=tuple(convs[k]),
            scores=tuple(scores[k]),
            stances=tuple(stances[k]),
            errors=tuple(errors[k]),
        )
        for k, p in enumerate(profiles)
    ]


def summarize(trajectories: Sequence[Trajectory]) -> dict[str, Any]:
    """Counts, mean reward and the share of validating replies, per user type."""
    out: dict[str, Any] = {"trajectories": len(trajectories)}
    for label, biased in (("benign", False), ("biased", True)):
        group = [t for t in trajectories if t.biased == biased]
        ok = [t for t in group if t.ok]
        decided = [s for t in group for s in t.stances if s is not None]
        out[label] = {
            "users": len(group),
            "failed": len(group) - len(ok),
            "mean_reward": None if not ok else sum(t.reward or 0.0 for t in ok) / len(ok),
            "validating_share": None if not decided else decided.count("B") / len(decided),
        }
    return out
