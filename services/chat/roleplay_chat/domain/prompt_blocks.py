"""The pieces of a prompt as the preview shows them, and the small rules that cut them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from roleplay_chat.domain.tokens import MESSAGE_OVERHEAD, Counter, count_tokens

BlockKind = Literal[
    "lore_before",
    "system",
    "memory",
    "lore_after",
    "example",
    "history",
    "depth_prompt",
    "author_note",
    "lore_depth",
    "post_history",
    "instruction",
]
Role = Literal["system", "user", "assistant"]
TRUNCATION_MARKER = "\n[… truncated: this message is longer than the model's context allows]"
_START = re.compile(r"^\s*<START>\s*$", re.I | re.M)


@dataclass(frozen=True)
class PromptBlock:
    kind: BlockKind
    source: str
    role: Role
    text: str
    tokens: int


def split_examples(example_dialogue: str) -> list[str]:
    """The example dialogue's conversations, split at `<START>` lines; empty ones dropped."""
    return [chunk.strip() for chunk in _START.split(example_dialogue) if chunk.strip()]


def truncate_to_fit(text: str, budget: int, count: Counter = count_tokens) -> str:
    """The longest head of `text` that, with the truncation marker, costs at most `budget`
    tokens as a message (just the marker when nothing of it fits)."""

    def count_message(content: str) -> int:
        return count(content) + MESSAGE_OVERHEAD

    if count_message(text) <= budget:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count_message(text[:middle] + TRUNCATION_MARKER) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + TRUNCATION_MARKER
