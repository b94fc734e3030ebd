"""How a local backend turns a conversation and a reply into token ids, written once so that the
transformers and vLLM backends give the same ids (and so the same scores and verdicts)."""

from __future__ import annotations

import json
import weakref
from typing import Any

from dem.errors import DemError
from dem.models.backends.base import Conversation
from dem.models.spec import ModelSpec

#: Token ids of (conversation, reply) pairs already cut, per tokenizer object: a grid scores the
#: same prompts and answers once per condition, on the one tokenizer its process's base holds.
_REPLY_IDS: weakref.WeakKeyDictionary[Any, dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]]]
_REPLY_IDS = weakref.WeakKeyDictionary()
MAX_MEMO = 100_000  # pairs per tokenizer; the memo starts over past it


class ChatTokens:
    """Chat rendering and tokenisation over ``self.tokenizer`` (a transformers tokenizer),
    ``self.spec`` and ``self.stop_ids`` (end-of-turn token ids, the first one appended to a
    reply whose template writes none)."""

    tokenizer: Any
    spec: ModelSpec
    stop_ids: list[int]

    def render(self, conversation: Conversation, *, add_generation_prompt: bool = True) -> str:
        """The conversation as the chat template writes it (text, special tokens included)."""
        return self.tokenizer.apply_chat_template(
            [dict(m) for m in conversation],
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
        )

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def reply_ids(self, conversation: Conversation, reply: str) -> tuple[list[int], list[int]]:
        """``(prompt ids, reply ids)``: the reply as the template writes it, up to and including
        its first end-of-turn token (appended when the template writes none). Memoised per
        tokenizer, its chat template, vocabulary size and end-of-turn ids."""
        memo = _memo(self.tokenizer)
        template = self.tokenizer.chat_template
        try:
            pair = json.dumps([[dict(m) for m in conversation], reply])
            if not isinstance(template, str | None):  # a dict of named templates
                template = json.dumps(template, sort_keys=True)
        except TypeError:  # a value JSON cannot write: not memoised
            return self._reply_ids(conversation, reply)
        # the template is the tokenizer's own string (a reference, hashed once), not a copy
        key = (template, len(self.tokenizer), tuple(self.stop_ids), pair)
        if key not in memo:
            if len(memo) >= MAX_MEMO:
                memo.clear()
            prompt, ids = self._reply_ids(conversation, reply)
            memo[key] = (tuple(prompt), tuple(ids))
        prompt_ids, reply_ids = memo[key]
        return list(prompt_ids), list(reply_ids)

    def _reply_ids(self, conversation: Conversation, reply: str) -> tuple[list[int], list[int]]:
        prompt = self.render(conversation, add_generation_prompt=True)
        full = self.render(
            [*conversation, {"role": "assistant", "content": reply}], add_generation_prompt=False
        )
        if not full.startswith(prompt):
            raise DemError(
                f"{self.spec.display_name}: the chat template does not extend the generation "
                "prompt with the assistant reply, so the reply cannot be scored on its own"
            )
        ids = self.encode(full[len(prompt) :])
        cut = next((i for i, t in enumerate(ids) if t in self.stop_ids), None)
        ids = ids[: cut + 1] if cut is not None else [*ids, self.stop_ids[0]]
        return self.encode(prompt), ids


def _memo(tokenizer: Any) -> dict[tuple, tuple[tuple[int, ...], tuple[int, ...]]]:
    """`tokenizer`'s memo of cut pairs (a plain dict where the tokenizer takes no weak ref)."""
    try:
        return _REPLY_IDS.setdefault(tokenizer, {})
    except TypeError:
        return {}
