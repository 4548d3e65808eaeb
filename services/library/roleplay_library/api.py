"""Internal HTTP API of the library service: list, get, delete — the owner's assets only."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from sqlmodel import col

from roleplay_common.db import add_to_outbox
from roleplay_common.events import LibraryAssetDeleted
from roleplay_common.http import not_found
from roleplay_common.internal_api import RuntimeDep, SessionDep
from roleplay_common.pagination import MAX_LIMIT
from roleplay_common.service import Runtime
from roleplay_common.text import SafeText
from roleplay_library.store import LibraryAsset

router = APIRouter(prefix="/internal", tags=["internal"])


UserId = Annotated[uuid.UUID, Query()]


async def asset_view(runtime: Runtime, a: LibraryAsset) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "asset_type": a.asset_type,
        "image_url": await runtime.storage.signed_url(a.bucket, a.key),
        "thumbnail_url": await runtime.storage.signed_url(a.bucket, a.thumbnail_key),
        "content_type": a.content_type,
        "width": a.width,
        "height": a.height,
        "roleplay_metadata": a.roleplay_metadata,
        "created_at": a.created_at.isoformat(),
    }


@router.get("/assets")
async def list_assets(
    user_id: UserId,
    session: SessionDep,
    runtime: RuntimeDep,
    conversation_id: uuid.UUID | None = None,
    asset_type: Annotated[SafeText | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    stmt = sa.select(LibraryAsset).where(col(LibraryAsset.user_id) == user_id)
    if conversation_id:
        stmt = stmt.where(col(LibraryAsset.conversation_id) == conversation_id)
    if asset_type:
        stmt = stmt.where(col(LibraryAsset.asset_type) == asset_type)
    rows = (
        await session.execute(stmt.order_by(col(LibraryAsset.created_at).desc()).limit(limit))
    ).scalars()
    return {"items": [await asset_view(runtime, a) for a in rows], "next_cursor": None}


@router.delete("/assets/{asset_id}", status_code=204)
async def delete_asset(
    asset_id: uuid.UUID, user_id: UserId, session: SessionDep, runtime: RuntimeDep
) -> Response:
    asset = await session.get(LibraryAsset, asset_id, with_for_update=True)
    if asset is None or asset.user_id != user_id:
        raise not_found("asset")
    await session.delete(asset)
    await add_to_outbox(
        session,
        runtime.schema,
        runtime.topics,
        runtime.envelope(
            LibraryAssetDeleted(
                asset_id=asset.id, user_id=user_id, conversation_id=asset.conversation_id
            )
        ),
    )
    await session.flush()
    await runtime.storage.delete(asset.bucket, asset.key)
    await runtime.storage.delete(asset.bucket, asset.thumbnail_key)
    return Response(status_code=204)
