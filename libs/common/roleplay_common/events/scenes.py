"""Scene image events: the job command, its progress and outcome, and cancellation.

`RequestSceneJob` carries what the scenes service needs as it was at request time — the
character and persona cards, the scene template, the image model routes, the chat model for
the scene narrative and the recent messages it is written from — so a replay reproduces it.
Keyed by conversation.

A job's `purpose` is a conversation's `scene` (the default) or a character's `portrait`: the
same durable, leased, cancellable job, without a conversation. A portrait job's facts are
`scenes.portrait.*` (keyed by character, read by the gateway, which owns characters), so the
consumers of scene facts (chat, the conversation feed, the library) never see one.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from roleplay_common.events.chat import CharacterCard, ModelRoute
from roleplay_common.events.envelope import Event
from roleplay_common.text import SafeText

GenerationMode = Literal["t2i", "i2i", "modification"]
SceneStyle = Literal["character_only", "pov", "both_characters"]
JobPurpose = Literal["scene", "portrait"]


class SceneTemplateCard(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    scene_prompt: str = ""
    preview_image_url: str | None = None


class Modification(BaseModel):
    model_config = ConfigDict(frozen=True)

    preset: SafeText | None = Field(default=None, max_length=200)
    intensity: float = Field(default=0.5, ge=0, le=1)
    instruction: SafeText | None = Field(default=None, max_length=4000)


class RecentMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    sender: Literal["user", "assistant"]
    content: str


class StoredImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    thumbnail_key: str
    content_type: str = "image/png"
    width: int | None = None
    height: int | None = None


class ReferenceImage(BaseModel):
    """A character's or persona's portrait for visual consistency: an object in storage (signed
    when the job runs) or a URL as the character gives it."""

    model_config = ConfigDict(frozen=True)

    role: Literal["character", "persona"]
    bucket: str | None = None
    key: str | None = None
    url: str | None = None


class RequestSceneJob(Event):
    event_type: ClassVar[str] = "scenes.job.requested"
    topic: ClassVar[str] = "scenes.jobs"

    job_id: UUID
    scene_id: UUID
    user_id: UUID
    conversation_id: UUID | None = Field(default=None, description="None for a portrait.")
    purpose: JobPurpose = "scene"
    mode: GenerationMode
    prompt: str | None = None
    style: SceneStyle = "character_only"
    message_id: UUID | None = None
    previous_scene_id: UUID | None = None
    modification: Modification | None = None
    character: CharacterCard
    persona: CharacterCard | None = None
    template: SceneTemplateCard | None = None
    routes: list[ModelRoute]
    narrative_route: ModelRoute | None = None
    recent_messages: list[RecentMessage] = Field(default_factory=list)
    references: list[ReferenceImage] = Field(default_factory=list)
    content_mode: Literal["sfw", "nsfw"] = "sfw"
    auto_keep: bool = False
    requested_at: datetime

    @model_validator(mode="after")
    def _scene_has_a_conversation(self) -> RequestSceneJob:
        if self.purpose == "scene" and self.conversation_id is None:
            raise ValueError("a scene job needs a conversation_id")
        return self

    def partition_key(self) -> str:
        return str(self.conversation_id or self.character.id)


class SceneFact(Event):
    job_id: UUID
    scene_id: UUID
    conversation_id: UUID
    user_id: UUID

    def partition_key(self) -> str:
        return str(self.conversation_id)


class SceneJobProgressed(SceneFact):
    event_type: ClassVar[str] = "scenes.job.progress"
    topic: ClassVar[str] = "scenes.job.events"

    status: Literal["queued", "processing"]
    progress: float = Field(ge=0, le=1)
    stage: str


class SceneJobCompleted(SceneFact):
    event_type: ClassVar[str] = "scenes.job.completed"
    topic: ClassVar[str] = "scenes.job.events"

    image: StoredImage
    prompt: str
    generation_mode: GenerationMode
    previous_scene_id: UUID | None = None
    message_id: UUID | None = None
    character_id: UUID
    model: str


class SceneJobFailed(SceneFact):
    event_type: ClassVar[str] = "scenes.job.failed"
    topic: ClassVar[str] = "scenes.job.events"

    code: str
    message: str
    cancelled: bool = False


class PortraitFact(Event):
    """A portrait job's facts: keyed by the character the portrait is for."""

    job_id: UUID
    image_id: UUID = Field(description="The generated image (the job's `scene_id`).")
    character_id: UUID
    user_id: UUID

    def partition_key(self) -> str:
        return str(self.character_id)


class PortraitJobProgressed(PortraitFact):
    event_type: ClassVar[str] = "scenes.portrait.progress"
    topic: ClassVar[str] = "scenes.job.events"

    status: Literal["queued", "processing"]
    progress: float = Field(ge=0, le=1)
    stage: str


class PortraitJobCompleted(PortraitFact):
    """The image is in `workspace-temp`; the gateway copies it to `portraits`."""

    event_type: ClassVar[str] = "scenes.portrait.completed"
    topic: ClassVar[str] = "scenes.job.events"

    image: StoredImage
    prompt: str
    model: str


class PortraitJobFailed(PortraitFact):
    event_type: ClassVar[str] = "scenes.portrait.failed"
    topic: ClassVar[str] = "scenes.job.events"

    code: str
    message: str
    cancelled: bool = False
