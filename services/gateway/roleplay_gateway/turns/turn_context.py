"""What a turn command carries beyond the cards themselves: the character's nickname,
post-history instructions, depth prompt and own lorebook; the books the persona and the
conversation bring; the conversation's scene.

1. The character's and persona's rows (already loaded by the card lookups) give the
   nickname, the post-history instructions and SillyTavern's `extensions.depth_prompt`.
2. Their books, the persona's attached books and the conversation's (`lorebook_ids`) are read
   in one query, keeping only those the caller may see, each book once.
3. The conversation's scene template, when it has one the caller may see, becomes the scene.
4. The generation settings: the defaults, then the character's `settings`, then the
   conversation's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.events import (
    CharacterCard,
    DepthPrompt,
    GenerationSettings,
    Lorebook,
    RequestChatTurn,
    SceneContext,
)
from roleplay_common.http import ApiError
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.characters.service import visible_scene_template
from roleplay_gateway.characters.store import Character
from roleplay_gateway.lorebooks.attachments import conversation_lorebook_ids
from roleplay_gateway.lorebooks.service import turn_lorebook, visible_lorebooks

_ROLES = ("system", "user", "assistant")
Source = Literal["character", "persona", "conversation"]


@dataclass(frozen=True)
class TurnContext:
    character: CharacterCard
    persona: CharacterCard | None
    lorebooks: list[Lorebook] = field(default_factory=list)
    scene: SceneContext | None = None
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    def apply(self, command: RequestChatTurn) -> RequestChatTurn:
        return command.model_copy(
            update={
                "generation": self.generation,
                "character": self.character,
                "persona": self.persona,
                "lorebooks": self.lorebooks,
                "scene": self.scene,
            }
        )


def depth_prompt(extensions: dict[str, Any]) -> DepthPrompt | None:
    """SillyTavern's `extensions.depth_prompt` (`{prompt, depth, role}`), when it says something."""
    raw = extensions.get("depth_prompt")
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return None
    depth = raw.get("depth")
    role = raw.get("role")
    return DepthPrompt(
        prompt=prompt,
        depth=depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 else 4,
        role=role if role in _ROLES else "system",
    )


async def turn_context(
    session: AsyncSession,
    user: AuthUser,
    conversation: dict[str, Any],
    character: CharacterCard,
    persona: CharacterCard | None,
) -> TurnContext:
    character_row = await session.get(Character, character.id)
    persona_row = await session.get(Character, persona.id) if persona is not None else None
    conversation_id = uuid.UUID(str(conversation["id"]))
    attached = (await conversation_lorebook_ids(session, [conversation_id])).get(
        conversation_id, []
    )
    own = character_row.lorebook_id if character_row else None
    persona_own = persona_row.lorebook_id if persona_row else None
    persona_books = list(persona_row.lorebook_ids) if persona_row else []
    wanted = [i for i in (own, persona_own) if i is not None]
    books = {
        b.id: b
        for b in await visible_lorebooks(session, user, [*wanted, *persona_books, *attached])
    }

    def card(
        row: Character | None, card: CharacterCard, book_id: uuid.UUID | None, source: Source
    ) -> CharacterCard:
        if row is None:
            return card
        book = books.get(book_id) if book_id is not None else None
        return card.model_copy(
            update={
                "nickname": row.nickname,
                "post_history_instructions": row.post_history_instructions,
                "depth_prompt": depth_prompt(row.extensions),
                "lorebook": turn_lorebook(book, source) if book is not None else None,
            }
        )

    used = {i for i in (own, persona_own) if i is not None}
    lorebooks: list[Lorebook] = []
    sources: list[tuple[Source, list[str]]] = [
        ("persona", persona_books),
        ("conversation", attached),
    ]
    for source, ids in sources:
        for raw in ids:
            book = books.get(uuid.UUID(str(raw)))
            if book is not None and book.id not in used:
                used.add(book.id)
                lorebooks.append(turn_lorebook(book, source))
    return TurnContext(
        character=card(character_row, character, own, "character"),
        persona=card(persona_row, persona, persona_own, "persona") if persona else None,
        lorebooks=lorebooks,
        scene=await _scene(session, user, conversation.get("scene_template_id")),
        generation=GenerationSettings.layered(
            character_row.settings if character_row else None, conversation.get("settings")
        ),
    )


async def _scene(session: AsyncSession, user: AuthUser, template_id: Any) -> SceneContext | None:
    if not template_id:
        return None
    try:
        template = await visible_scene_template(session, user, uuid.UUID(str(template_id)))
    except (ApiError, ValueError):
        return None  # gone or hidden since the conversation began: the turn goes on without it
    return SceneContext(
        id=template.id,
        name=template.name,
        setting=template.setting,
        scenario=template.scenario,
        atmosphere=template.atmosphere,
        starters=list(template.scene_starters),
    )
