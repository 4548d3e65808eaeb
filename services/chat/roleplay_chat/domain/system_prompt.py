"""The system prompt of a roleplay turn, as pure functions.

It comes from the turn's prompt template with its `{{placeholders}}` filled from the character,
the persona and the scene (card fields have their macros rendered first: `{{char}}`,
`{{user}}`, `<BOT>`, `{{random:...}}`, ...). A card's own `system_prompt` replaces the
template, which it may include with `{{original}}` (V2); the scene context, the character's
scene behaviour rules, conversation memory and the content rating add their sections.
Example dialogue is not in it: it travels as blocks of its own, pruned first (`prompt.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from roleplay_chat.domain.macros import MacroContext, render
from roleplay_chat.domain.memory_recall import MemoryNote
from roleplay_common.events import CharacterCard, PromptTemplate, RequestChatTurn, SceneContext

DEFAULT_TEMPLATE = (
    "You are {{character_name}}, in an ongoing roleplay with {{user_name}}.\n"
    "Character description: {{character_description}}\n"
    "Personality: {{character_personality}}\n"
    "Scenario: {{scenario}}\n"
    "{{user_name}}: {{user_persona}}\n"
    "Stay in character. Write only {{character_name}}'s words and actions, in the first person,"
    " with actions between asterisks. Never speak or act for {{user_name}}."
)

KICKOFF_INSTRUCTION = (
    "[Begin the scene: introduce yourself in character and set the scene for {user_name}.]"
)
CONTINUE_INSTRUCTION = (
    "[Continue the scene naturally from where it left off, without repeating yourself and "
    "without speaking for {user_name}.]"
)
CONTINUE_LAST_INSTRUCTION = (
    "[Continue your last message from exactly where it stopped: write only what comes next, "
    "without repeating any of it and without speaking for {user_name}.]"
)
IMPERSONATE_INSTRUCTION = (
    "[Write {user_name}'s next message in the scene, in {user_name}'s own voice and first "
    "person, as {user_name} would say or do it. Write only {user_name}'s message, nothing from "
    "any other character.]"
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
_ORIGINAL = re.compile(r"\{\{\s*original\s*\}\}", re.I)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True)
class HistoryMessage:
    sender: str
    content: str


@dataclass(frozen=True)
class Memory:
    """The summary (and the facts kept before memory items existed) go in the system prompt;
    `items` of the three tiers are chosen per model within their budget (`prompt.assemble`)."""

    summary: str = ""
    facts: Sequence[str] = ()
    items: Sequence[MemoryNote] = ()


def adultify(text: str) -> str:
    for pattern, replacement in _ADULTIFY:
        text = pattern.sub(replacement, text)
    return text


def macro_context(command: RequestChatTurn, original: str = "") -> MacroContext:
    """The turn's macros: `{{char}}` is the nickname, else the name; draws seeded by the turn."""
    character, persona = command.character, command.persona
    return MacroContext(
        char=character.nickname or character.name,
        user=persona.name if persona else "User",
        original=original,
        seed=str(command.turn_id),
    )


def scene_text(scene: SceneContext | None, macros: MacroContext) -> str:
    """The scene template's context, as the system prompt carries it."""
    if scene is None:
        return ""
    lines = [
        f"{label}: {render(value, macros).strip()}"
        for label, value in (
            ("Scene", scene.name),
            ("Setting", scene.setting),
            ("Scenario", scene.scenario),
            ("Atmosphere", scene.atmosphere),
        )
        if value.strip()
    ]
    return "\n".join(lines)


def placeholders(
    character: CharacterCard,
    persona: CharacterCard | None,
    scene_context: str,
    macros: MacroContext | None = None,
) -> dict[str, str]:
    user_name = persona.name if persona else "User"
    macros = macros or MacroContext(char=character.nickname or character.name, user=user_name)
    examples = "(given below)" if character.example_dialogue.strip() else "(none)"
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
    # Cards write macros (`{{char}}`, `{{user}}`, `<BOT>`, ...) inside their own fields.
    names = {"char": macros.char, "user": user_name, **values}
    return {
        **{k: fill(render(v, macros), names) for k, v in values.items()},
        "char": macros.char,
        "user": user_name,
    }


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every `{{name}}`; unknown placeholders become empty, never stay literal."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def _joined(field: str, extra: str) -> str:
    return f"{field}\n{extra}" if field.strip() and extra else field or extra


def system_prompt(
    command: RequestChatTurn,
    *,
    scene_context: str | None = None,
    memory: Memory | None = None,
    personality_lore: str = "",
    scenario_lore: str = "",
) -> str:
    """`personality_lore` and `scenario_lore`: lorebook text placed inside the character's
    personality and scenario (`@@position personality|scenario`), already rendered."""
    template: PromptTemplate | None = command.template
    character, persona = command.character, command.persona
    macros = macro_context(command)
    if scene_context is None:
        scene_context = scene_text(command.scene, macros)
    values = placeholders(character, persona, scene_context, macros)
    values["character_personality"] = _joined(values["character_personality"], personality_lore)
    values["scenario"] = _joined(values["scenario"], scenario_lore)
    template_text = template.system_prompt if template else DEFAULT_TEMPLATE
    base = fill(template_text, values).strip()
    if character.system_prompt and "{{character_goals}}" not in template_text:
        # V2: the card's prompt replaces the template, which `{{original}}` brings back.
        own = fill(render(character.system_prompt, macro_context(command, base)), values).strip()
        base = own if _ORIGINAL.search(character.system_prompt) else f"{base}\n\n{own}"
    parts = [base]
    if scene_context and "{{scene_context}}" not in template_text:
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
