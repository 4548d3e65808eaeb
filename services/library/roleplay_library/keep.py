"""Keeping a scene: a server-side copy from `workspace-temp` into `user-library`.

The image and its thumbnail (made by the scenes service when it stored the image) are copied
by the object store itself — no byte passes through this process. The asset row and
`library.asset.saved` commit together (outbox); a redelivered command finds the asset (one per
user and scene) and does nothing.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import col

from roleplay_common.db import add_to_outbox, claim_event
from roleplay_common.events import EventEnvelope, KeepScene, LibraryAssetSaved, StoredImage
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_common.storage import USER_LIBRARY
from roleplay_library.store import LibraryAsset

log = get_logger(__name__)


async def keep_scene(runtime: Runtime, command: KeepScene, envelope: EventEnvelope) -> None:
    async with runtime.db.transaction() as session:
        if not await claim_event(session, runtime.schema, envelope, consumer="keep"):
            return
        existing = (
            await session.execute(
                sa.select(LibraryAsset).where(
                    col(LibraryAsset.user_id) == command.user_id,
                    col(LibraryAsset.source_scene_id) == command.scene_id,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return
        asset_id = uuid.uuid4()
        base = f"{command.user_id}/scenes/{asset_id}"
        key, thumbnail_key = f"{base}.png", f"{base}.thumb.png"
        source = command.image
        await runtime.storage.copy(source.bucket, source.key, USER_LIBRARY, key)
        await runtime.storage.copy(source.bucket, source.thumbnail_key, USER_LIBRARY, thumbnail_key)
        kept = StoredImage(
            bucket=USER_LIBRARY,
            key=key,
            thumbnail_key=thumbnail_key,
            content_type=source.content_type,
            width=source.width,
            height=source.height,
        )
        session.add(
            LibraryAsset(
                id=asset_id,
                user_id=command.user_id,
                bucket=USER_LIBRARY,
                key=key,
                thumbnail_key=thumbnail_key,
                content_type=source.content_type,
                width=source.width,
                height=source.height,
                source_scene_id=command.scene_id,
                conversation_id=command.conversation_id,
                roleplay_metadata={
                    "conversation_id": str(command.conversation_id),
                    "character_id": str(command.character_id),
                    "scene_id": str(command.scene_id),
                    "prompt": command.prompt,
                },
            )
        )
        await session.flush()
        await add_to_outbox(
            session,
            runtime.schema,
            runtime.topics,
            runtime.envelope(
                LibraryAssetSaved(
                    asset_id=asset_id,
                    user_id=command.user_id,
                    conversation_id=command.conversation_id,
                    character_id=command.character_id,
                    scene_id=command.scene_id,
                    image=kept,
                ),
                causation=envelope,
            ),
        )
    log.info("scene kept", asset_id=str(asset_id))
