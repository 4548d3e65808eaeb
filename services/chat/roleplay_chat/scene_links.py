"""What the chat service learns from scenes and the library.

* `scenes.job.completed` with a message id: the scene is linked to that message
  (`scene_ids`), so a reloaded conversation shows its images (the seed lost them).
* `library.asset.saved`: the kept image becomes the conversation's `last_scene_image`, the
  thumbnail the dashboard shows — set on the server, whether or not a browser is open.
"""

from __future__ import annotations

from roleplay_chat.store import Conversation, Message
from roleplay_common.db import claim_event
from roleplay_common.events import EventEnvelope, LibraryAssetSaved, SceneJobCompleted
from roleplay_common.service import Runtime


async def link_scene(runtime: Runtime, fact: SceneJobCompleted, envelope: EventEnvelope) -> None:
    async with runtime.db.transaction() as session:
        if not await claim_event(session, runtime.schema, envelope, consumer="scenes"):
            return
        if fact.message_id is None:
            return
        message = await session.get(Message, fact.message_id, with_for_update=True)
        if message is None or message.user_id != fact.user_id:
            return
        if str(fact.scene_id) not in message.scene_ids:
            message.scene_ids = [*message.scene_ids, str(fact.scene_id)]


async def set_last_scene_image(
    runtime: Runtime, fact: LibraryAssetSaved, envelope: EventEnvelope
) -> None:
    async with runtime.db.transaction() as session:
        if not await claim_event(session, runtime.schema, envelope, consumer="library"):
            return
        conversation = await session.get(Conversation, fact.conversation_id, with_for_update=True)
        if conversation is None or conversation.user_id != fact.user_id:
            return
        conversation.last_scene_image = {
            "bucket": fact.image.bucket,
            "key": fact.image.key,
            "thumbnail_key": fact.image.thumbnail_key,
            "asset_id": str(fact.asset_id),
            "scene_id": str(fact.scene_id),
        }
