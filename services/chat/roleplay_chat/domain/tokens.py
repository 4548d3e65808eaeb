"""Token counting for the context budget.

Providers tokenise differently and the exact tokenizer of a remote model is rarely at hand,
so the budget uses a conservative estimate: the larger of characters/4 and words*4/3, plus a
few tokens of per-message overhead as chat templates add. Over-counting only drops a little
more old history; under-counting could overflow the context, so the estimate leans high.
"""

from __future__ import annotations

import math

MESSAGE_OVERHEAD = 4


def count_tokens(text: str) -> int:
    if not text:
        return 0
    by_chars = math.ceil(len(text) / 4)
    by_words = math.ceil(len(text.split()) * 4 / 3)
    return max(by_chars, by_words)


def count_message(content: str) -> int:
    return count_tokens(content) + MESSAGE_OVERHEAD
