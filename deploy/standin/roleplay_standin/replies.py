"""The STAND-IN's chat replies: deterministic roleplay-ish text, and rough token counts.

The reply is seeded by a hash of the model name and the last user message, so the same
request always gets the same words. Its first token is a stage direction (`*smiles
slowly*`), its second ` (<model>)`, so a test can see which model answered; then sentences
of narration and dialogue. A token here is one word with its leading space.

Prompt tokens are counted as one per four characters of message content (rounded down) plus
four per message; an image part of a multimodal message counts 85.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable
from typing import Any

_ACTIONS = [
    "*leans against the railing*",
    "*smiles slowly*",
    "*glances toward the horizon*",
    "*sets down the lantern*",
    "*tilts their head*",
    "*laughs under their breath*",
    "*pulls the cloak tighter*",
]
_SUBJECTS = [
    "The storm",
    "The old map",
    "Your lantern",
    "The harbor bell",
    "A quiet wind",
    "The last ember",
    "That river",
    "The tower door",
]
_VERBS = [
    "waits beyond",
    "hums across",
    "remembers",
    "drifts toward",
    "hides near",
    "whispers over",
    "glows above",
]
_PLACES = [
    "the harbor.",
    "the northern road.",
    "the garden wall.",
    "the sleeping town.",
    "the edge of the stars.",
    "the morning tide.",
    "the broken bridge.",
]
_LINES = [
    '"Stay close, the night is long."',
    '"Did you hear that?"',
    '"I promised I would tell you the rest of the tale."',
    '"We should move before the bell rings again."',
    '"You kept the secret. Thank you."',
    '"Tell me where the journey ends."',
]


def _sentences(rng: random.Random) -> Iterable[str]:
    while True:
        if rng.random() < 0.35:
            yield rng.choice(_LINES)
        else:
            yield f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_PLACES)}"


def scripted_tokens(text: str) -> list[str]:
    """A fixed reply as tokens: each word with the whitespace before it."""
    return re.findall(r"\s*\S+", text) or [text]


def reply_tokens(last_user_message: str, model: str, count: int) -> list[str]:
    """`count` tokens of the reply to `last_user_message` from `model`."""
    rng = random.Random(hashlib.sha256(f"{model}|{last_user_message}".encode()).digest())
    tokens = [rng.choice(_ACTIONS), f" ({model})"]
    for sentence in _sentences(rng):
        if len(tokens) >= count:
            break
        tokens.extend(f" {word}" for word in sentence.split())
    return tokens[: max(count, 1)]


def _content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return len(content) // 4
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                total += len(str(part.get("text", ""))) // 4
            elif isinstance(part, dict):
                total += 85
        return total
    return 0


def count_prompt_tokens(messages: list[Any]) -> int:
    """Rough prompt size: content characters / 4 (rounded down) + 4 per message."""
    return sum(
        _content_tokens(m.get("content") if isinstance(m, dict) else None) + 4 for m in messages
    )


def last_user_message(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def structured_reply(response_format: Any, words: list[str], model: str) -> str | None:
    """The reply as a JSON object when the request asks for one by schema
    (`response_format: {"type": "json_schema", "json_schema": {"schema": ...}}`): every
    property of the schema, a string made of the reply's words and naming the model, or (for
    an array) three short ones. None when no schema is asked for."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return "{}"
    pool = [w.strip() for w in words[2:] if w.strip()] or ["stand-in"]
    answer: dict[str, Any] = {}
    for n, (name, prop) in enumerate(properties.items()):
        start = (n * 3) % len(pool)
        phrase = " ".join((pool + pool)[start : start + 8])
        if isinstance(prop, dict) and prop.get("type") == "array":
            answer[name] = [f"{w} {name}" for w in (pool + pool)[start : start + 3]]
        else:
            answer[name] = f"STAND-IN {name} ({model}): {phrase}"
    return json.dumps(answer, ensure_ascii=False)
