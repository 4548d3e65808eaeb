"""`GET /v1/library`, `DELETE /v1/library/{id}` — the caller's kept images."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from roleplay_common.pagination import Page
from roleplay_common.text import SafeText
from roleplay_gateway.auth.dependencies import CurrentUser
from roleplay_gateway.internal_client import InternalClient
from roleplay_gateway.library.schemas import AssetPublic

router = APIRouter(prefix="/v1", tags=["library"])


async def get_library(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.library
    return client


LibraryDep = Annotated[InternalClient, Depends(get_library)]


@router.get("/library", response_model=Page[AssetPublic])
async def list_library(
    user: CurrentUser,
    library: LibraryDep,
    conversation_id: uuid.UUID | None = None,
    asset_type: Annotated[SafeText | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    result: dict[str, Any] = await library.call(
        "GET",
        "/internal/assets",
        user_id=user.id,
        params={
            "conversation_id": str(conversation_id) if conversation_id else None,
            "asset_type": asset_type,
        },
    )
    return result


@router.delete("/library/{asset_id}", status_code=204)
async def delete_asset(asset_id: uuid.UUID, user: CurrentUser, library: LibraryDep) -> Response:
    await library.call("DELETE", f"/internal/assets/{asset_id}", user_id=user.id)
    return Response(status_code=204)
