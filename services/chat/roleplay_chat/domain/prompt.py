"""Prompt assembly for a roleplay turn, as pure functions.

The system prompt comes from the turn's prompt template with its `{{placeholders}}` filled from
the character, the persona and the scene; scene context, the character's scene behaviour rules,
conversation memory and the content rating add their sections. History is the NEWEST messages
that fit the model's context budget (the seed system sent the oldest), the current user
message appears once, and the oldest messages are dropped first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from roleplay_chat.domain.tokens import count_message, count_tokens
from roleplay_common.events import CharacterCard, PromptTemplate, RequestChatTurn

DEFAULT_TEMPLATE = (
    "You are {{character_name}}, in an ongoing roleplay with {{user_name}}.\n"
    "Character description: {{character_description}}\n"
    "Personality: {{character_personality}}\n"
    "Scenario: {{scenario}}\n"
    "{{user_name}}: {{user_persona}}\n"
    "Stay in character. Write only {{character_name}}'s words and actions, in the first person,"
    " with actions between asterisks. Never speak or act for {{user_name}}.\n"
    "Example dialogue:\n{{example_dialogue}}"
)

KICKOFF_INSTRUCTION = (
    "[Begin the scene: introduce yourself in character and set the scene for {user_name}.]"
)
CONTINUE_INSTRUCTION = (
    "[Continue the scene naturally from where it left off, without repeating yourself and "
    "without speaking for {user_name}.]"
)
NSFW_NOTE = (
    "All characters in this story are consenting adults aged 21 or older and are not related."
)
SFW_NOTE = "Keep the story suitable for a general audience: no explicit sexual content or gore."

_ADULTIFY = [
    (re.compile(r"\bteen(ager)?s?\b", re.I), "young adult"),
    (re.compile(r"\bhigh school\b", re.I), "college"),
    (re.compile(r"\bschool(girl|boy)\b", re.I), r"college \1"),
    (re.compile(r"\b1[0-8][- ]year[- ]old\b", re.I), "21-year-old"),
]
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True)
class HistoryMessage:
    sender: str
    content: str


@dataclass(frozen=True)
class Memory:
    summary: str = ""
    facts: Sequence[str] = ()


@dataclass(frozen=True)
class ChatPrompt:
    messages: list[dict[str, str]]
    tokens_in: int
    kept: int
    dropped: int
    max_tokens: int = 0
    system: str = field(default="", repr=False)


def adultify(text: str) -> str:
    for pattern, replacement in _ADULTIFY:
        text = pattern.sub(replacement, text)
    return text


def placeholders(
    character: CharacterCard, persona: CharacterCard | None, scene_context: str
) -> dict[str, str]:
    user_name = persona.name if persona else "User"
    examples = character.example_dialogue.strip() or "(none)"
    values = {
        "character_name": character.name,
        "character_description": character.description,
        "character_personality": character.persona or character.description,
        "character_background": character.persona,
        "character_visual_description": ", ".join(character.appearance_tags)
        or character.description,
        "character_goals": character.system_prompt,
        "scenario": character.scenario,
        "example_dialogue": examples,
        "voice_examples": examples,
        "user_name": user_name,
        "user_persona": (persona.persona or persona.description) if persona else "",
        "user_appearance": ", ".join(persona.appearance_tags) if persona else "",
        "scene_context": scene_context,
    }
    # Cards write `{{char}}` and `{{user}}` inside their own fields.
    names = {"char": character.name, "user": user_name, **values}
    return {
        **{k: fill(v, names) for k, v in values.items()},
        "char": character.name,
        "user": user_name,
    }


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every `{{name}}`; unknown placeholders become empty, never stay literal."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def system_prompt(
    command: RequestChatTurn, *, scene_context: str = "", memory: Memory | None = None
) -> str:
    template: PromptTemplate | None = command.template
    character, persona = command.character, command.persona
    values = placeholders(character, persona, scene_context)
    parts = [fill(template.system_prompt if template else DEFAULT_TEMPLATE, values).strip()]
    if character.system_prompt and "{{character_goals}}" not in (
        template.system_prompt if template else ""
    ):
        parts.append(fill(character.system_prompt, values).strip())
    if scene_context and "{{scene_context}}" not in (template.system_prompt if template else ""):
        parts.append(
            f"SCENE CONTEXT:\n{scene_context}\n"
            "Stay aware of the scene: refer to the place, the objects and the people in it."
        )
    if character.scene_behavior_rules:
        rules = "\n".join(f"- {k}: {v}" for k, v in character.scene_behavior_rules.items())
        parts.append(f"SCENE BEHAVIOUR RULES:\n{rules}")
    if memory and (memory.summary or memory.facts):
        section = [f"WHAT HAS HAPPENED SO FAR WITH {values['user_name'].upper()}:"]
        if memory.summary:
            section.append(memory.summary)
        section.extend(f"- {fact}" for fact in memory.facts)
        parts.append("\n".join(section))
    parts.append(NSFW_NOTE if command.content_mode == "nsfw" else SFW_NOTE)
    text = "\n\n".join(p for p in parts if p)
    return adultify(text) if command.content_mode == "nsfw" else text


def assemble(
    command: RequestChatTurn,
    history: Sequence[HistoryMessage],
    *,
    system: str,
    context_window: int,
    max_output_tokens: int,
) -> ChatPrompt:
    """System prompt + the newest history that fits + the turn's instruction, if any.

    `history` is oldest first and already ends with the current user message for a `send`
    (it is stored before the turn runs), and without the reply being replaced for a
    `regenerate`.
    """
    user_name = command.persona.name if command.persona else "User"
    nudge: str | None = None
    if command.kind == "continue" or not history:
        nudge = (CONTINUE_INSTRUCTION if history else KICKOFF_INSTRUCTION).format(
            user_name=user_name
        )
    nsfw = command.content_mode == "nsfw"

    budget = context_window - max_output_tokens - count_message(system)
    if nudge:
        budget -= count_message(nudge)
    kept: list[HistoryMessage] = []
    for message in reversed(history):
        cost = count_message(message.content)
        if kept and cost > budget:
            break
        kept.append(message)
        budget -= cost
    kept.reverse()

    messages = [{"role": "system", "content": system}]
    for m in kept:
        content = adultify(m.content) if nsfw else m.content
        messages.append({"role": "user" if m.sender == "user" else "assistant", "content": content})
    if nudge:
        messages.append({"role": "user", "content": nudge})
    tokens_in = sum(count_message(m["content"]) for m in messages)
    return ChatPrompt(
        messages=messages,
        tokens_in=tokens_in,
        kept=len(kept),
        dropped=len(history) - len(kept),
        max_tokens=max(min(max_output_tokens, context_window - tokens_in), 16),
        system=system,
    )


__all__ = [
    "ChatPrompt",
    "HistoryMessage",
    "Memory",
    "adultify",
    "assemble",
    "count_tokens",
    "fill",
    "system_prompt",
]
