"""What the helper features ask a model, and how its answers are read (no I/O).

- Enhance-prompt: a scene image prompt rewritten richer and more concrete, in the light of the
  conversation's character and latest messages when given; the answer is the prompt only.
- Character suggestions: the named card fields filled from a name and a description, asked as
  a JSON object by schema (structured outputs) and read leniently (a fenced or prefixed object,
  a comma list for a list field); a field the answer lacks is left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

ENHANCE_INSTRUCTIONS = (
    "You improve prompts for an image generation model. Rewrite the user's scene prompt so it "
    "is vivid and concrete: subject, appearance, setting, lighting, composition and style. Keep "
    "its meaning and everything it names; add nothing that contradicts the story. Answer with "
    "the improved prompt only, in one paragraph, without quotes or commentary."
)
MAX_ENHANCED_CHARS = 4000

TextField = Literal[
    "name",
    "nickname",
    "description",
    "persona",
    "scenario",
    "first_message",
    "example_dialogue",
    "system_prompt",
    "post_history_instructions",
    "creator_notes",
]
ListField = Literal["alternate_greetings", "appearance_tags", "tags"]
SuggestibleField = TextField | ListField
TEXT_FIELDS: tuple[str, ...] = get_args(TextField)
LIST_FIELDS: tuple[str, ...] = get_args(ListField)
SUGGESTIBLE_FIELDS = TEXT_FIELDS + LIST_FIELDS
"""The card fields a suggestion may fill: the character's text and list-of-text fields."""

_FIELD_HINTS = {
    "name": "the character's name",
    "nickname": "a short name used in place of the name",
    "description": "who the character is: background, looks, manner",
    "persona": "the character's personality in a few sentences",
    "scenario": "the situation a chat with the character starts in",
    "first_message": "the character's first message in a chat, in character",
    "example_dialogue": "a few lines of example dialogue, <START> before each exchange",
    "system_prompt": "instructions to the model that plays the character",
    "post_history_instructions": "a short reminder given to the model after the chat history",
    "creator_notes": "a note to people who use the character",
    "alternate_greetings": "two or three other first messages",
    "appearance_tags": "short tags for an image model: hair, eyes, clothing, build",
    "tags": "short genre and theme tags",
}

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class SceneContext:
    """What enhance-prompt may know of the conversation the scene belongs to."""

    character_name: str
    appearance_tags: Sequence[str]
    recent: Sequence[tuple[str, str]]  # (sender, content), oldest first


def enhance_messages(
    prompt: str, *, instructions: str | None, context: SceneContext | None
) -> list[dict[str, str]]:
    parts = []
    if context is not None:
        parts.append(f"Character: {context.character_name}")
        if context.appearance_tags:
            parts.append(f"Appearance: {', '.join(context.appearance_tags)}")
        if context.recent:
            lines = "\n".join(f"{sender}: {content[:600]}" for sender, content in context.recent)
            parts.append(f"Latest messages:\n{lines}")
    parts.append(f"Scene prompt to improve:\n{prompt}")
    return [
        {"role": "system", "content": instructions or ENHANCE_INSTRUCTIONS},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


_LEADING_LABEL = re.compile(
    r"^\s*\**\s*(?:(?:improved|enhanced)\s+)?prompt\s*\**\s*:\s*\**\s*", re.I
)


def read_enhanced(answer: str, original: str) -> str:
    """The answer without a label, quotes or surrounding space; the original when empty."""
    text = _LEADING_LABEL.sub("", answer.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text[:MAX_ENHANCED_CHARS] or original


def suggestion_schema(fields: Sequence[str]) -> dict[str, Any]:
    """A strict JSON schema of an object with exactly these fields."""
    properties: dict[str, Any] = {}
    for field in fields:
        if field in LIST_FIELDS:
            properties[field] = {"type": "array", "items": {"type": "string"}}
        else:
            properties[field] = {"type": "string"}
        properties[field]["description"] = _FIELD_HINTS[field]
    return {
        "type": "object",
        "properties": properties,
        "required": list(fields),
        "additionalProperties": False,
    }


def suggestion_messages(
    fields: Sequence[str], *, name: str | None, description: str | None
) -> list[dict[str, str]]:
    wanted = "\n".join(
        f"- {f} ({'a list of strings' if f in LIST_FIELDS else 'a string'}): {_FIELD_HINTS[f]}"
        for f in fields
    )
    known = []
    if name:
        known.append(f"Name: {name}")
    if description:
        known.append(f"Description: {description}")
    return [
        {
            "role": "system",
            "content": "You help people write roleplay characters. Answer with one JSON object "
            "holding exactly the fields asked for, consistent with what is known of the "
            "character, and nothing else.",
        },
        {
            "role": "user",
            "content": "\n".join(known) + f"\n\nFields to write:\n{wanted}",
        },
    ]


_OBJECT = re.compile(r"\{.*\}", re.S)


def read_suggestions(answer: str, fields: Sequence[str]) -> dict[str, str | list[str]]:
    """The asked fields found in the answer's JSON object, each in its field's shape."""
    match = _OBJECT.search(answer)
    if match is None:
        return {}
    try:
        found = json.loads(match.group(0))
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    out: dict[str, str | list[str]] = {}
    for field in fields:
        value = found.get(field)
        if field in LIST_FIELDS:
            items = value if isinstance(value, list) else str(value or "").split(",")
            cleaned = [str(item).strip() for item in items if str(item).strip()]
            if cleaned:
                out[field] = cleaned
        elif isinstance(value, str | int | float) and str(value).strip():
            out[field] = str(value).strip()
    return out
