"""What a scene request carries for its mode and its consistency.

Routes per mode: an `i2i` or `modification` scene tries the requested model, then the
catalog's models for its own task (default first), then the `t2i` models as a fallback (they
take a reference image too, and an `i2i` with nothing to continue from runs as `t2i`). Each
route names its task so the scenes service can pick the `t2i` ones first on that fallback.

References: the character's portrait (and the persona's) as the object in storage when it was
uploaded, else its `image_url` when that is an absolute URL.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.events import ModelRoute, ReferenceImage
from roleplay_common.http import ApiError
from roleplay_common.storage import PORTRAITS
from roleplay_gateway.catalog.routing import image_routes
from roleplay_gateway.characters.store import Character


async def scene_routes(
    session: AsyncSession, requested_model: str | None, mode: str
) -> list[ModelRoute]:
    if mode == "t2i":
        return await image_routes(session, requested_model, task="t2i")
    try:
        own = await image_routes(session, requested_model, task=mode)
    except ApiError as exc:
        if exc.status != 503:
            raise
        own = []
    try:
        fallback = await image_routes(session, None, task="t2i")
    except ApiError as exc:
        if exc.status != 503 or not own:
            raise
        fallback = []
    keys = {r.model_key for r in own}
    return own + [r for r in fallback if r.model_key not in keys]


async def portrait_references(
    session: AsyncSession, character_id: uuid.UUID, persona_id: uuid.UUID | None
) -> list[ReferenceImage]:
    found = []
    for role, id_ in (("character", character_id), ("persona", persona_id)):
        row = await session.get(Character, id_) if id_ is not None else None
        if row is None:
            continue
        if row.portrait_key:
            found.append(ReferenceImage(role=role, bucket=PORTRAITS, key=row.portrait_key))
        elif row.image_url and row.image_url.startswith(("http://", "https://")):
            found.append(ReferenceImage(role=role, url=row.image_url))
    return found
