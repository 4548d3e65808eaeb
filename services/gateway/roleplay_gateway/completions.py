"""One-off model calls of the helper features (enhance-prompt, character suggestions).

The chat service runs them (`POST /internal/completions`): it owns the provider adapters,
retries and fallback, and records `usage.recorded` for every provider call. The gateway picks
the routes from the catalog — the task's own models (a requested one first), then the
roleplay models as their fallback — and turns "no model could answer" into `503`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.events import ModelRoute
from roleplay_common.http import ApiError
from roleplay_gateway.catalog.routing import chat_routes
from roleplay_gateway.internal_client import InternalClient

RequestType = Literal["prompt_enhancement", "character_suggestions"]


def get_completions(request: Request) -> InternalClient:
    client: InternalClient = request.app.state.chat_completions
    return client


CompletionsDep = Annotated[InternalClient, Depends(get_completions)]


async def helper_routes(
    session: AsyncSession, requested_model: str | None, *, task: str
) -> list[ModelRoute]:
    """The task's models (after a requested one), then the roleplay models not yet listed."""
    own: list[ModelRoute] = []
    try:
        own = await chat_routes(session, requested_model, task=task)
    except ApiError as exc:
        if exc.status != 503:
            raise
    try:
        general = await chat_routes(session, None)
    except ApiError:
        if not own:
            raise
        general = []
    listed = {route.model_key for route in own}
    return own + [route for route in general if route.model_key not in listed]


async def complete(
    client: InternalClient,
    *,
    user_id: uuid.UUID,
    request_type: RequestType,
    routes: list[ModelRoute],
    messages: list[dict[str, str]],
    max_tokens: int,
    temperature: float,
    json_schema: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> str:
    """The model's answer; `503 model_unavailable` when no route gave one."""
    result = await client.call(
        "POST",
        "/internal/completions",
        json={
            "user_id": str(user_id),
            "request_type": request_type,
            "routes": [route.model_dump(mode="json") for route in routes],
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "json_schema": json_schema,
            "reference_id": correlation_id,
        },
        correlation_id=correlation_id,
    )
    if not result.get("ok"):
        error = result.get("error") or {}
        raise ApiError(
            503,
            "model_unavailable",
            f"no model could answer: {error.get('message', 'unknown error')}",
            {"reason": error.get("code")},
            headers={"Retry-After": "30"},
        )
    text: str = result["text"]
    return text
