"""The image prompt of a character's portrait, as a pure function.

Without a prompt from the person, it is written from the card: the character's name, its
`appearance_tags`, and the start of its `description` (macros such as `{{char}}` filled in,
cut at a sentence or word end), framed as a portrait. A person's own prompt is kept as
written, with the character's appearance added so the portrait still looks like them.
"""

from __future__ import annotations

import re

from roleplay_common.events import RequestSceneJob

FRAMING = "head and shoulders, looking at the viewer, detailed face"
DESCRIPTION_CHARS = 300
_CHAR = re.compile(r"\{\{char\}\}|<bot>", re.IGNORECASE)
_USER = re.compile(r"\{\{user\}\}|<user>", re.IGNORECASE)
_MACRO = re.compile(r"\{\{[^{}]*\}\}")


def portrait_prompt(command: RequestSceneJob) -> str:
    character = command.character
    appearance = ", ".join(t.strip() for t in character.appearance_tags if t.strip())
    if command.prompt:
        parts = [command.prompt.strip().rstrip(".")]
        if appearance:
            parts.append(f"{character.name}: {appearance}")
    else:
        parts = [f"character portrait of {character.name}", FRAMING, appearance]
        parts.append(description_excerpt(character.description, character.name))
    if command.content_mode == "sfw":
        parts.append("safe for work")
    return ", ".join(p for p in parts if p)


def description_excerpt(description: str, name: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The description's start, macros filled in, whitespace folded, at most `limit` chars."""
    text = _USER.sub("the viewer", _CHAR.sub(name, description))
    text = " ".join(_MACRO.sub("", text).split())
    if len(text) <= limit:
        return text.rstrip(".")
    cut = text[:limit]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end >= limit // 3:
        return cut[:sentence_end]
    return cut.rsplit(" ", 1)[0].rstrip(",;:")
