"""A generated portrait becomes the character's portrait (consumer `gateway.portraits`).

On `scenes.portrait.completed`: the image is copied server-side from `workspace-temp` into
`portraits` under a key derived from the job (a redelivery copies onto the same object), and
in one transaction with the event's dedupe record the character's `portrait_key` and
`image_url` point at it — as an upload sets them — and the accepted job is marked applied
(`GET /v1/jobs/{id}` reads `completed` from then on). The portrait it replaces is deleted after
the commit. A character deleted meanwhile gets nothing. The newest result to arrive wins, as
the newest upload does. Failed and cancelled jobs change nothing: the old portrait stays.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from roleplay_common.broker import EventRouter
from roleplay_common.db import claim_event
from roleplay_common.events import EventEnvelope, PortraitJobCompleted
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_common.storage import PORTRAITS
from roleplay_gateway.characters.store import Character
from roleplay_gateway.scenes.endpoints import scene_requests

log = get_logger(__name__)


def register(router: EventRouter, runtime: Runtime) -> None:
    @router.handles(PortraitJobCompleted, consumer="portraits")
    async def portrait_completed(fact: PortraitJobCompleted, envelope: EventEnvelope) -> None:
        await apply_portrait(runtime, fact, envelope)


async def apply_portrait(
    runtime: Runtime, fact: PortraitJobCompleted, envelope: EventEnvelope
) -> None:
    # The copy comes first, outside the transaction (no row lock waits on object storage);
    # its key follows from the job, so a redelivered fact copies onto the same object.
    async with runtime.db.reading() as session:
        applied = await session.scalar(
            sa.select(scene_requests.c.applied_at).where(scene_requests.c.job_id == fact.job_id)
        )
    if applied is not None:
        return  # a redelivered fact: its image may be gone from the workspace by now
    key = f"{fact.character_id}/generated-{fact.job_id}.png"
    await runtime.storage.copy(fact.image.bucket, fact.image.key, PORTRAITS, key)
    old: str | None = None
    async with runtime.db.transaction() as session:
        if not await claim_event(session, runtime.schema, envelope, consumer="portraits"):
            return
        await session.execute(
            sa.update(scene_requests)
            .where(scene_requests.c.job_id == fact.job_id)
            .values(applied_at=datetime.now(UTC))
        )
        character = await session.get(Character, fact.character_id, with_for_update=True)
        if character is None:
            log.info("portrait for a deleted character dropped", job_id=str(fact.job_id))
            old = key
        else:
            if character.portrait_key != key:
                old = character.portrait_key
            character.portrait_key = key
            character.image_url = f"/v1/characters/{character.id}/portrait"
            character.updated_at = datetime.now(UTC)
    if old:
        try:
            await runtime.storage.delete(PORTRAITS, old)
        except Exception as exc:  # the new portrait stands; the old object is only litter
            log.warning("old portrait not deleted", key=old, error=type(exc).__name__)
    log.info("generated portrait set", character_id=str(fact.character_id), model=fact.model)
