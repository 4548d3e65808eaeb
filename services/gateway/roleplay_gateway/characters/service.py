"""Who sees which character, and the snapshots other parts of the system take of them.

A character (or scene template) is visible to its owner and admins, and to everyone when
`public`; an `nsfw` one is hidden (404, absent from lists) from users whose profile is not
`age_verified`. Only the owner or an admin may change or delete one; to anyone else it is a 404.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.events import CharacterCard, SceneTemplateCard
from roleplay_common.http import ApiError
from roleplay_gateway.auth.service import AuthUser
from roleplay_gateway.characters.store import Character, SceneTemplate


def visible_clause(user: AuthUser) -> sa.ColumnElement[bool]:
    clause = sa.or_(col(Character.owner_id) == user.id, col(Character.visibility) == "public")
    if user.is_admin:
        return sa.true()
    if not user.age_verified:
        clause = sa.and_(clause, col(Character.content_rating) == "sfw")
    return clause


def can_see(user: AuthUser, character: Character) -> bool:
    if user.is_admin:
        return True
    if character.content_rating == "nsfw" and not user.age_verified:
        return False
    return character.owner_id == user.id or character.visibility == "public"


async def visible_character(
    session: AsyncSession,
    user: AuthUser,
    character_id: uuid.UUID,
    *,
    role: str | None = None,
    what: str = "character",
) -> Character:
    character = await session.get(Character, character_id)
    if character is None or not can_see(user, character) or (role and character.role != role):
        raise ApiError(404, "not_found", f"{what} not found")
    return character


async def owned_character(
    session: AsyncSession, user: AuthUser, character_id: uuid.UUID
) -> Character:
    character = await visible_character(session, user, character_id)
    if character.owner_id != user.id and not user.is_admin:
        raise ApiError(404, "not_found", "character not found")
    return character


async def character_card(
    session: AsyncSession,
    user: AuthUser,
    character_id: uuid.UUID,
    *,
    role: Literal["ai", "user"],
) -> CharacterCard:
    """The character as a turn needs it, as it is now (404 when not visible to `user`)."""
    c = await visible_character(session, user, character_id, role=role)
    return CharacterCard(
        id=c.id,
        role="user" if c.role == "user" else "ai",
        name=c.name,
        description=c.description,
        persona=c.persona,
        system_prompt=c.system_prompt,
        first_message=c.first_message,
        alternate_greetings=list(c.alternate_greetings),
        example_dialogue=c.example_dialogue,
        scenario=c.scenario,
        content_rating="nsfw" if c.content_rating == "nsfw" else "sfw",
        scene_behavior_rules=dict(c.scene_behavior_rules),
        consistency_method=c.consistency_method,
        appearance_tags=list(c.appearance_tags),
        image_url=c.image_url,
    )


def content_mode(user: AuthUser, character: CharacterCard) -> Literal["sfw", "nsfw"]:
    """What a turn or an image for `user` with `character` may contain: adult content only
    for a character rated so and a caller whose age is verified."""
    return "nsfw" if character.content_rating == "nsfw" and user.age_verified else "sfw"


async def character_summaries(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """`{id, name, image_url}` of each character, for lists that show them."""
    if not ids:
        return {}
    rows = (
        await session.execute(
            sa.select(col(Character.id), col(Character.name), col(Character.image_url)).where(
                col(Character.id).in_(ids)
            )
        )
    ).all()
    return {r.id: {"id": str(r.id), "name": r.name, "image_url": r.image_url} for r in rows}


def character_view(c: Character) -> dict[str, Any]:
    return {
        "id": str(c.id),
        "owner_id": str(c.owner_id),
        "role": c.role,
        "name": c.name,
        "description": c.description,
        "persona": c.persona,
        "system_prompt": c.system_prompt,
        "first_message": c.first_message,
        "alternate_greetings": list(c.alternate_greetings),
        "example_dialogue": c.example_dialogue,
        "scenario": c.scenario,
        "content_rating": c.content_rating,
        "visibility": c.visibility,
        "scene_behavior_rules": dict(c.scene_behavior_rules),
        "consistency_method": c.consistency_method,
        "appearance_tags": list(c.appearance_tags),
        "image_url": c.image_url,
        "tags": list(c.tags),
        "nickname": c.nickname,
        "post_history_instructions": c.post_history_instructions,
        "creator": c.creator,
        "creator_notes": c.creator_notes,
        "creator_notes_multilingual": dict(c.creator_notes_multilingual),
        "character_version": c.character_version,
        "group_only_greetings": list(c.group_only_greetings),
        "source": list(c.source),
        "extensions": dict(c.extensions),
        "settings": dict(c.settings or {}),
        "assets": list(c.assets),
        "creation_date": c.creation_date,
        "modification_date": c.modification_date,
        "lorebook_id": str(c.lorebook_id) if c.lorebook_id else None,
        "lorebook_ids": list(c.lorebook_ids),
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


def scene_template_clause(user: AuthUser) -> sa.ColumnElement[bool]:
    if user.is_admin:
        return sa.true()
    clause = sa.or_(
        col(SceneTemplate.owner_id) == user.id, col(SceneTemplate.visibility) == "public"
    )
    if not user.age_verified:
        clause = sa.and_(clause, col(SceneTemplate.content_rating) == "sfw")
    return clause


def can_see_scene_template(user: AuthUser, template: SceneTemplate) -> bool:
    if user.is_admin:
        return True
    if template.content_rating == "nsfw" and not user.age_verified:
        return False
    return template.owner_id == user.id or template.visibility == "public"


async def visible_scene_template(
    session: AsyncSession, user: AuthUser, template_id: uuid.UUID, *, owned: bool = False
) -> SceneTemplate:
    """The template if `user` may see it (and, with `owned`, change it); else a 404."""
    template = await session.get(SceneTemplate, template_id)
    if template is None or not can_see_scene_template(user, template):
        raise ApiError(404, "not_found", "scene template not found")
    if owned and template.owner_id != user.id and not user.is_admin:
        raise ApiError(404, "not_found", "scene template not found")
    return template


async def scene_template_card(
    session: AsyncSession, user: AuthUser, template_id: uuid.UUID
) -> SceneTemplateCard:
    """The scene template as a scene job needs it (404 when not visible to `user`)."""
    t = await visible_scene_template(session, user, template_id)
    return SceneTemplateCard(
        id=t.id, name=t.name, scene_prompt=t.scene_prompt, preview_image_url=t.preview_image_url
    )
