"""Request and response shapes of characters, personas and scene templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from roleplay_common.changes import Changes
from roleplay_common.events import SamplerSettings
from roleplay_common.text import SafeJsonObject, SafeText

Rating = Literal["sfw", "nsfw"]
Visibility = Literal["private", "public"]
LONG_TEXT_MAX = 100_000
"""A character's long text (description, persona, greetings, ...): what a card import keeps,
so a PATCH accepts what an import stored."""
LIST_MAX = 200
"""Greetings and tags: as many as a card import keeps."""
NICKNAME_MAX = 120
CREATOR_MAX = 500
VERSION_MAX = 200
Text = Field(default="", max_length=LONG_TEXT_MAX)
ItemText = Annotated[SafeText, Field(max_length=LONG_TEXT_MAX)]


class CharacterCreate(BaseModel):
    name: SafeText = Field(min_length=1, max_length=120)
    role: Literal["ai", "user"] = "ai"
    description: SafeText = Text
    persona: SafeText = Text
    system_prompt: SafeText = Text
    first_message: SafeText = Text
    alternate_greetings: list[ItemText] = Field(default_factory=list, max_length=LIST_MAX)
    example_dialogue: SafeText = Text
    scenario: SafeText = Text
    content_rating: Rating = "sfw"
    visibility: Visibility = "private"
    scene_behavior_rules: SafeJsonObject = Field(default_factory=dict)
    consistency_method: Literal["seed_locked", "i2i_reference", "hybrid"] | None = None
    appearance_tags: list[SafeText] = Field(default_factory=list, max_length=100)
    image_url: SafeText | None = Field(default=None, max_length=2000)
    tags: list[ItemText] = Field(default_factory=list, max_length=LIST_MAX)
    nickname: SafeText = Field(
        default="", max_length=NICKNAME_MAX, description="Replaces the name in `{{char}}`."
    )
    post_history_instructions: SafeText = Text
    creator: SafeText = Field(default="", max_length=CREATOR_MAX)
    creator_notes: SafeText = Text
    character_version: SafeText = Field(default="", max_length=VERSION_MAX)
    group_only_greetings: list[ItemText] = Field(default_factory=list, max_length=LIST_MAX)
    extensions: SafeJsonObject = Field(
        default_factory=dict, description="The card's `extensions`, kept as given."
    )
    lorebook_id: uuid.UUID | None = Field(default=None, description="The character's own book.")
    lorebook_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=20, description="Books a persona brings to its chats."
    )
    settings: SamplerSettings = Field(
        default_factory=SamplerSettings,
        description="Default sampler settings of conversations with this character.",
    )


class CharacterUpdate(Changes):
    nullable = frozenset({"consistency_method", "image_url", "lorebook_id"})

    name: SafeText | None = Field(default=None, min_length=1, max_length=120)
    description: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    persona: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    system_prompt: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    first_message: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    alternate_greetings: list[ItemText] | None = Field(default=None, max_length=LIST_MAX)
    example_dialogue: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    scenario: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    content_rating: Rating | None = None
    visibility: Visibility | None = None
    scene_behavior_rules: SafeJsonObject | None = None
    consistency_method: Literal["seed_locked", "i2i_reference", "hybrid"] | None = None
    appearance_tags: list[SafeText] | None = Field(default=None, max_length=100)
    image_url: SafeText | None = Field(default=None, max_length=2000)
    tags: list[ItemText] | None = Field(default=None, max_length=LIST_MAX)
    nickname: SafeText | None = Field(default=None, max_length=NICKNAME_MAX)
    post_history_instructions: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    creator: SafeText | None = Field(default=None, max_length=CREATOR_MAX)
    creator_notes: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    character_version: SafeText | None = Field(default=None, max_length=VERSION_MAX)
    group_only_greetings: list[ItemText] | None = Field(default=None, max_length=LIST_MAX)
    extensions: SafeJsonObject | None = None
    lorebook_id: uuid.UUID | None = None
    lorebook_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    settings: SamplerSettings | None = Field(
        default=None, description="Replaces the default sampler settings."
    )


class SceneTemplateCreate(BaseModel):
    name: SafeText = Field(min_length=1, max_length=120)
    description: SafeText = Text
    setting: SafeText = Field(default="", max_length=20_000, description="Where the scene happens.")
    scenario: SafeText = Field(default="", max_length=20_000, description="What is going on.")
    scene_prompt: SafeText = Field(
        default="", max_length=20_000, description="How the scene looks, for scene images."
    )
    atmosphere: SafeText = Field(default="", max_length=20_000, description="How it feels.")
    scene_starters: list[SafeText] = Field(default_factory=list, max_length=20)
    preview_image_url: SafeText | None = Field(default=None, max_length=2000)
    tags: list[SafeText] = Field(default_factory=list, max_length=100)
    content_rating: Rating = "sfw"
    visibility: Visibility = "private"


class SceneTemplateUpdate(Changes):
    nullable = frozenset({"preview_image_url"})

    name: SafeText | None = Field(default=None, min_length=1, max_length=120)
    description: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    setting: SafeText | None = Field(default=None, max_length=20_000)
    scenario: SafeText | None = Field(default=None, max_length=LONG_TEXT_MAX)
    scene_prompt: SafeText | None = Field(default=None, max_length=20_000)
    atmosphere: SafeText | None = Field(default=None, max_length=20_000)
    scene_starters: list[SafeText] | None = Field(default=None, max_length=20)
    preview_image_url: SafeText | None = Field(default=None, max_length=2000)
    tags: list[SafeText] | None = Field(default=None, max_length=100)
    content_rating: Rating | None = None
    visibility: Visibility | None = None


class CharacterRef(BaseModel):
    id: uuid.UUID
    name: str
    image_url: str | None


class CharacterPublic(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    role: Literal["ai", "user"]
    name: str
    description: str
    persona: str
    system_prompt: str
    first_message: str
    alternate_greetings: list[str]
    example_dialogue: str
    scenario: str
    content_rating: Rating
    visibility: Visibility
    scene_behavior_rules: dict[str, Any]
    consistency_method: str | None
    appearance_tags: list[str]
    image_url: str | None
    tags: list[str]
    nickname: str
    post_history_instructions: str
    creator: str
    creator_notes: str
    creator_notes_multilingual: dict[str, Any]
    character_version: str
    group_only_greetings: list[str]
    source: list[str]
    extensions: dict[str, Any]
    assets: list[dict[str, Any]]
    creation_date: int | None
    modification_date: int | None
    lorebook_id: uuid.UUID | None
    lorebook_ids: list[uuid.UUID]
    settings: SamplerSettings
    created_at: datetime
    updated_at: datetime


class CharacterImported(CharacterPublic):
    warnings: list[str] = Field(description="What was mended or cut to import the card.")


class SceneTemplatePublic(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str
    setting: str
    scenario: str
    scene_prompt: str
    atmosphere: str
    scene_starters: list[str]
    preview_image_url: str | None
    tags: list[str]
    content_rating: Rating
    visibility: Visibility
    created_at: datetime
    updated_at: datetime
