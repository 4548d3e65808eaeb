"""Writing the image prompt of a scene, as pure functions.

The scene itself comes from the user's prompt, or from the recent conversation (the scene
narrative written by the chat model). It is combined with the character's appearance, the
persona's (for `both_characters`), the camera the style asks for, the template's setting, and —
for a modification — the preset or instruction with its intensity.
"""

from __future__ import annotations

from roleplay_common.events import Modification, RecentMessage, RequestSceneJob

STYLES = {
    "character_only": "portrait of the character alone in the scene",
    "pov": "first-person point of view of the viewer looking at the character",
    "both_characters": "both characters together in the scene",
}
PRESETS = {
    "lighting": "change the lighting",
    "time_of_day": "change the time of day",
    "weather": "change the weather",
    "outfit": "change the outfit",
    "expression": "change the facial expression",
    "pose": "change the pose",
}
NARRATIVE_INSTRUCTION = (
    "Describe, in one vivid sentence of at most 60 words, the visual scene at this moment of the "
    "story: the place, the light, what {character} looks like and is doing. No dialogue, no "
    "names of real people, no text in the image."
)


def narrative_request(command: RequestSceneJob) -> list[dict[str, str]]:
    """Messages asking the chat model for the scene narrative of the recent conversation."""
    user = command.persona.name if command.persona else "User"
    lines = [
        f"{command.character.name if m.sender == 'assistant' else user}: {m.content}"
        for m in _recent(command.recent_messages)
    ]
    return [
        {
            "role": "system",
            "content": NARRATIVE_INSTRUCTION.format(character=command.character.name),
        },
        {"role": "user", "content": "\n".join(lines) or f"{command.character.name} waits."},
    ]


def _recent(messages: list[RecentMessage], limit: int = 6) -> list[RecentMessage]:
    return messages[-limit:]


def compose(command: RequestSceneJob, scene: str) -> str:
    parts = [scene.strip().rstrip(".")]
    appearance = ", ".join(command.character.appearance_tags)
    if appearance:
        parts.append(f"{command.character.name}: {appearance}")
    if command.style == "both_characters" and command.persona and command.persona.appearance_tags:
        parts.append(f"{command.persona.name}: {', '.join(command.persona.appearance_tags)}")
    parts.append(STYLES[command.style])
    if command.template and command.template.scene_prompt:
        parts.append(f"setting: {command.template.scene_prompt}")
    if command.mode == "modification" and command.modification:
        parts.append(modification_text(command.modification))
    if command.content_mode == "sfw":
        parts.append("safe for work")
    return ", ".join(p for p in parts if p)


def modification_text(modification: Modification) -> str:
    change = modification.instruction or PRESETS.get(modification.preset or "", "adjust the scene")
    strength = (
        "subtly"
        if modification.intensity < 0.34
        else ("clearly" if modification.intensity < 0.67 else "strongly")
    )
    return f"keep the same scene and characters, {strength} {change}"


def strength(command: RequestSceneJob) -> float:
    """How far an i2i/modification result may move from its reference image."""
    if command.mode == "modification" and command.modification:
        return round(0.25 + 0.6 * command.modification.intensity, 3)
    return 0.35
