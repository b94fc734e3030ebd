"""How a local backend turns a conversation and a reply into token ids, written once so that the
transformers and vLLM backends give the same ids (and so the same scores and verdicts)."""

from __future__ import annotations

from typing import Any

from dem.errors import DemError
from dem.models.backends.base import Conversation
from dem.models.spec import ModelSpec


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
        its first end-of-turn token (appended when the template writes none)."""
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
