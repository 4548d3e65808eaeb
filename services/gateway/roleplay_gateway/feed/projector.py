"""Facts from chat, scenes and the library, projected into the conversation feed.

Consumer group `gateway.feed`: one gateway instance writes each fact once; every instance's
streams are woken through PostgreSQL `NOTIFY`. Deltas stay on the turn stream
(`/v1/turns/{id}/stream`); the feed carries what changes the screen: messages, turns, scenes,
library saves, memory changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from roleplay_common.broker import EventRouter
from roleplay_common.events import (
    ChatTurnCompleted,
    ChatTurnFailed,
    ChatTurnStarted,
    EventEnvelope,
    LibraryAssetSaved,
    MemoryUpdated,
    SceneJobCompleted,
    SceneJobFailed,
    SceneJobProgressed,
)
from roleplay_common.service import Runtime
from roleplay_gateway.feed.store import append


def register(router: EventRouter, runtime: Runtime) -> None:
    async def project(
        envelope: EventEnvelope,
        conversation_id: uuid.UUID,
        user_id: uuid.UUID,
        entries: list[tuple[str, dict[str, Any]]],
    ) -> None:
        async with runtime.db.transaction() as session:
            await append(
                session,
                event_id=envelope.id,
                conversation_id=conversation_id,
                user_id=user_id,
                entries=entries,
            )

    @router.handles(ChatTurnStarted, consumer="feed")
    async def turn_started(fact: ChatTurnStarted, envelope: EventEnvelope) -> None:
        data = {
            "turn_id": str(fact.turn_id),
            "conversation_id": str(fact.conversation_id),
            "user_message_id": str(fact.user_message_id) if fact.user_message_id else None,
            "kind": fact.kind,
        }
        entries: list[tuple[str, dict[str, Any]]] = []
        if fact.user_message_id:
            entries.append(
                (
                    "message.created",
                    {
                        "id": str(fact.user_message_id),
                        "sender": "user",
                        "turn_id": str(fact.turn_id),
                    },
                )
            )
        entries.append(("turn.started", data))
        await project(envelope, fact.conversation_id, fact.user_id, entries)

    @router.handles(ChatTurnCompleted, consumer="feed")
    async def turn_completed(fact: ChatTurnCompleted, envelope: EventEnvelope) -> None:
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [
                ("message.created", {**fact.message, "sender": "assistant"}),
                (
                    "turn.completed",
                    {
                        "turn_id": str(fact.turn_id),
                        "message": fact.message,
                        "usage": fact.usage.model_dump(mode="json"),
                    },
                ),
            ],
        )

    @router.handles(ChatTurnFailed, consumer="feed")
    async def turn_failed(fact: ChatTurnFailed, envelope: EventEnvelope) -> None:
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [("turn.failed", {"turn_id": str(fact.turn_id), "error": fact.error.model_dump()})],
        )

    @router.handles(SceneJobProgressed, consumer="feed")
    async def scene_progressed(fact: SceneJobProgressed, envelope: EventEnvelope) -> None:
        name = "scene.queued" if fact.status == "queued" else "scene.progress"
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [
                (
                    name,
                    {
                        "job_id": str(fact.job_id),
                        "scene_id": str(fact.scene_id),
                        "status": fact.status,
                        "progress": fact.progress,
                        "stage": fact.stage,
                    },
                )
            ],
        )

    @router.handles(SceneJobCompleted, consumer="feed")
    async def scene_completed(fact: SceneJobCompleted, envelope: EventEnvelope) -> None:
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [
                (
                    "scene.completed",
                    {
                        "job_id": str(fact.job_id),
                        "scene_id": str(fact.scene_id),
                        "prompt": fact.prompt,
                        "generation_mode": fact.generation_mode,
                        "previous_scene_id": str(fact.previous_scene_id)
                        if fact.previous_scene_id
                        else None,
                        "message_id": str(fact.message_id) if fact.message_id else None,
                        "image": fact.image.model_dump(mode="json"),
                    },
                )
            ],
        )

    @router.handles(SceneJobFailed, consumer="feed")
    async def scene_failed(fact: SceneJobFailed, envelope: EventEnvelope) -> None:
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [
                (
                    "scene.failed",
                    {
                        "job_id": str(fact.job_id),
                        "scene_id": str(fact.scene_id),
                        "error": {"code": fact.code, "message": fact.message},
                        "cancelled": fact.cancelled,
                    },
                )
            ],
        )

    @router.handles(LibraryAssetSaved, consumer="feed")
    async def library_saved(fact: LibraryAssetSaved, envelope: EventEnvelope) -> None:
        await project(
            envelope,
            fact.conversation_id,
            fact.user_id,
            [
                (
                    "library.saved",
                    {
                        "asset_id": str(fact.asset_id),
                        "scene_id": str(fact.scene_id),
                        "image": fact.image.model_dump(mode="json"),
                    },
                )
            ],
        )


def register_memory(router: EventRouter, runtime: Runtime) -> None:
    """`chat.memory.updated` → `memory.updated`: the client refetches the conversation's
    memory (`GET /v1/conversations/{id}/memory`)."""

    @router.handles(MemoryUpdated, consumer="feed")
    async def memory_updated(fact: MemoryUpdated, envelope: EventEnvelope) -> None:
        data = {
            "conversation_id": str(fact.conversation_id),
            "item_ids": [str(i) for i in fact.item_ids],
            "summary_changed": fact.summary_changed,
        }
        async with runtime.db.transaction() as session:
            await append(
                session,
                event_id=envelope.id,
                conversation_id=fact.conversation_id,
                user_id=fact.user_id,
                entries=[("memory.updated", data)],
            )
