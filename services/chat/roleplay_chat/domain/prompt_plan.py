"""The per-turn half of the prompt: everything a turn decides once, whatever model answers.

`plan_prompt` renders the system prompt (`system_prompt.py`), splits the example dialogue at
`<START>`, activates the lorebooks (the character's book, the persona's, the conversation's),
and renders the depth prompt, the post-history instructions and the turn's instruction (a
kickoff offers the scene template's starters; continue asks the newest reply to go on;
impersonate asks for the persona's next message), and the author's note from the turn's
settings. `prompt.assemble` then fits it to one model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from roleplay_chat.domain.lorebook import Activation, activate
from roleplay_chat.domain.lorebook.cache import compiled_books
from roleplay_chat.domain.macros import MacroContext, render
from roleplay_chat.domain.memory_recall import MemoryNote, rank
from roleplay_chat.domain.prompt_blocks import BlockKind, Role, split_examples
from roleplay_chat.domain.system_prompt import (
    CONTINUE_INSTRUCTION,
    CONTINUE_LAST_INSTRUCTION,
    IMPERSONATE_INSTRUCTION,
    KICKOFF_INSTRUCTION,
    HistoryMessage,
    Memory,
    macro_context,
    system_prompt,
)
from roleplay_common.events import Lorebook, RequestChatTurn


@dataclass(frozen=True)
class Insert:
    """Something placed inside the history: the depth prompt or a lorebook entry."""

    kind: BlockKind
    source: str
    role: Role
    depth: int
    text: str


@dataclass(frozen=True)
class PromptPlan:
    command: RequestChatTurn
    history: Sequence[HistoryMessage]
    system: str
    examples: list[str]
    activations: list[Activation]
    macros: MacroContext
    depth_prompt: Insert | None = None
    author_note: Insert | None = None
    post_history: str = ""
    instruction: str | None = None
    memory: Sequence[MemoryNote] = ()
    """Memory items in the order they are offered to the budget (pinned, then relevant)."""
    system_with_lore: Callable[..., str] | None = None
    """The system prompt again with lorebook text inside the character's personality and
    scenario (`personality_lore=`, `scenario_lore=`); None when `system` was given."""


def turn_books(command: RequestChatTurn) -> list[Lorebook]:
    """The character's book, the persona's, then those attached to the conversation."""
    books = []
    if command.character.lorebook is not None:
        books.append(command.character.lorebook.model_copy(update={"source": "character"}))
    if command.persona is not None and command.persona.lorebook is not None:
        books.append(command.persona.lorebook.model_copy(update={"source": "persona"}))
    books.extend(command.lorebooks)
    return books


def _instruction(command: RequestChatTurn, history: Sequence[HistoryMessage]) -> str | None:
    user_name = command.persona.name if command.persona else "User"
    if command.kind == "impersonate":
        return IMPERSONATE_INSTRUCTION.format(user_name=user_name)
    if history and command.kind != "continue":
        return None
    if history and history[-1].sender == "assistant":
        return CONTINUE_LAST_INSTRUCTION.format(user_name=user_name)
    if history:
        return CONTINUE_INSTRUCTION.format(user_name=user_name)
    text = KICKOFF_INSTRUCTION.format(user_name=user_name)
    starters = [s.strip() for s in (command.scene.starters if command.scene else []) if s.strip()]
    if starters:
        text += "\n[You may open with one of these: " + " | ".join(starters) + "]"
    return text


def plan_prompt(
    command: RequestChatTurn,
    history: Sequence[HistoryMessage],
    *,
    memory: Memory | None = None,
    system: str | None = None,
    message_count: int | None = None,
) -> PromptPlan:
    """The turn's prompt before it meets a model's budget. `history` is oldest first and
    already ends with the current user message for a `send`; `message_count` is the whole
    chat's length counted the same way (`history` holds at most the newest `history_limit`
    messages), which `@@activate_only_after` and `@@activate_only_every` count."""
    macros = macro_context(command)
    character = command.character
    activations = activate(
        compiled_books(turn_books(command)),
        [m.content for m in history],
        seed=str(command.turn_id),
        message_count=len(history) if message_count is None else message_count,
    )
    depth_prompt = None
    if character.depth_prompt is not None and character.depth_prompt.prompt.strip():
        depth_prompt = Insert(
            "depth_prompt",
            "character.depth_prompt",
            character.depth_prompt.role,
            character.depth_prompt.depth,
            render(character.depth_prompt.prompt, macros).strip(),
        )
    author_note = None
    note = command.generation.author_note.strip()
    if note:
        author_note = Insert(
            "author_note",
            "conversation.settings.author_note",
            "system",
            command.generation.author_note_depth,
            render(note, macros).strip(),
        )
    return PromptPlan(
        command=command,
        history=history,
        system=system if system is not None else system_prompt(command, memory=memory),
        examples=split_examples(render(character.example_dialogue, macros)),
        activations=activations,
        macros=macros,
        depth_prompt=depth_prompt,
        author_note=author_note,
        post_history=render(character.post_history_instructions, macros).strip(),
        instruction=_instruction(command, history),
        memory=rank(memory.items, [m.content for m in history]) if memory else (),
        system_with_lore=partial(system_prompt, command, memory=memory) if system is None else None,
    )
