"""Deterministic roleplay-ish text: the same request always gets the same reply."""

from __future__ import annotations

import hashlib
import random

_OPENINGS = [
    "*leans against the railing*",
    "*smiles slowly*",
    "*glances toward the horizon*",
    "*sets down the lantern*",
    "*tilts their head*",
]
_WORDS = [
    "the",
    "storm",
    "wind",
    "harbor",
    "lantern",
    "quiet",
    "road",
    "stars",
    "old",
    "map",
    "promise",
    "secret",
    "door",
    "light",
    "river",
    "rain",
    "ember",
    "whisper",
    "night",
    "morning",
    "journey",
    "tale",
    "shadow",
    "garden",
    "tower",
    "bell",
]


def reply_tokens(seed_text: str, model: str, count: int) -> list[str]:
    """`count` tokens (words with their spacing) seeded by the request; names the model."""
    rng = random.Random(hashlib.sha256(f"{model}|{seed_text}".encode()).hexdigest())
    tokens = [rng.choice(_OPENINGS), f" ({model})"]
    while len(tokens) < count:
        word = rng.choice(_WORDS)
        tokens.append(f" {word}")
        if rng.random() < 0.12:
            tokens[-1] += "."
    return tokens[:count]


def count_prompt_tokens(messages: list[dict[str, object]]) -> int:
    """Rough prompt size: one token per four characters of content, plus 4 per message."""
    return sum(len(str(m.get("content", ""))) // 4 + 4 for m in messages)
