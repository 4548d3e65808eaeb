"""Library events: keeping a scene, and the facts of kept assets (keyed by user)."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from roleplay_common.events.envelope import Event
from roleplay_common.events.scenes import StoredImage


class KeepScene(Event):
    """Command: copy a scene's image (and thumbnail) into the user's library."""

    event_type: ClassVar[str] = "library.keep.requested"
    topic: ClassVar[str] = "library.commands"

    user_id: UUID
    scene_id: UUID
    conversation_id: UUID
    character_id: UUID
    image: StoredImage
    prompt: str = ""

    def partition_key(self) -> str:
        return str(self.user_id)


class LibraryAssetSaved(Event):
    event_type: ClassVar[str] = "library.asset.saved"
    topic: ClassVar[str] = "library.assets"

    asset_id: UUID
    user_id: UUID
    conversation_id: UUID
    character_id: UUID
    scene_id: UUID
    image: StoredImage

    def partition_key(self) -> str:
        return str(self.user_id)


class LibraryAssetDeleted(Event):
    event_type: ClassVar[str] = "library.asset.deleted"
    topic: ClassVar[str] = "library.assets"

    asset_id: UUID
    user_id: UUID
    conversation_id: UUID | None = None

    def partition_key(self) -> str:
        return str(self.user_id)
