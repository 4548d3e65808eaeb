"""`GET /v1/models` and the admin routes of providers, models, prompt templates and workers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col

from roleplay_common.http import ApiError
from roleplay_common.pagination import Page
from roleplay_common.provider_keys import provider_key
from roleplay_gateway.auth.dependencies import AdminUser, CurrentUser
from roleplay_gateway.catalog.routing import (
    active_models,
    fresh_and_healthy,
    usable,
    worker_health,
)
from roleplay_gateway.catalog.schemas import (
    ModelChoice,
    ModelCreate,
    ModelPublic,
    ModelUpdate,
    PromptTemplateCreate,
    PromptTemplatePublic,
    PromptTemplateUpdate,
    ProviderCreate,
    ProviderPublic,
    ProviderUpdate,
    WorkerStatus,
)
from roleplay_gateway.catalog.store import Model, PromptTemplateRow, Provider
from roleplay_gateway.deps import SessionDep
from roleplay_gateway.idempotency import new_or_derived_id
from roleplay_gateway.openapi_document import errors

router = APIRouter(prefix="/v1", tags=["models"])


async def _invalidate_cache(request: Request) -> AsyncIterator[None]:
    """Admin writes change routing: drop this instance's cached catalog around them."""
    writes = request.method not in ("GET", "HEAD")
    if writes:
        request.app.state.catalog_cache.clear()
    yield
    if writes:
        request.app.state.catalog_cache.clear()


admin = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(_invalidate_cache)])

Row = TypeVar("Row", bound=SQLModel)
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


def provider_view(p: Provider) -> dict[str, Any]:
    """Never the key itself: only the name of the variable holding it, and whether it is set."""
    return {
        "id": str(p.id),
        "name": p.name,
        "display_name": p.display_name,
        "kind": p.kind,
        "base_url": p.base_url,
        "api_key_env": p.api_key_env,
        "api_key_configured": bool(provider_key(p.api_key_env)),
        "health_url": p.health_url,
        "is_active": p.is_active,
        "created_at": p.created_at.isoformat(),
    }


def model_view(m: Model, provider: Provider | None = None) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "key": m.key,
        "display_name": m.display_name,
        "provider_id": str(m.provider_id),
        "provider": provider.name if provider else None,
        "model_name": m.model_name,
        "modality": m.modality,
        "task": m.task,
        "is_default": m.is_default,
        "priority": m.priority,
        "is_active": m.is_active,
        "context_window": m.context_window,
        "max_output_tokens": m.max_output_tokens,
        "input_cost_per_mtok": str(m.input_cost_per_mtok),
        "output_cost_per_mtok": str(m.output_cost_per_mtok),
        "cost_per_image": str(m.cost_per_image),
        "timeout_seconds": m.timeout_seconds,
        "max_concurrent_streams": m.max_concurrent_streams,
        "input_defaults": m.input_defaults,
    }


def template_view(t: PromptTemplateRow) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "name": t.name,
        "use_case": t.use_case,
        "content_mode": t.content_mode,
        "target_model": t.target_model,
        "system_prompt": t.system_prompt,
        "is_active": t.is_active,
        "version": t.version,
        "updated_at": t.updated_at.isoformat(),
    }


async def _get(session: SessionDep, cls: type[Row], row_id: uuid.UUID, what: str) -> Row:
    row = await session.get(cls, row_id)
    if row is None:
        raise ApiError(404, "not_found", f"{what} not found")
    return row


async def _flush(session: SessionDep, what: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ApiError(409, "conflict", f"a {what} with that name or key exists") from exc


async def _create(session: SessionDep, row: Row, what: str) -> Row:
    """Insert `row`; a retry with the same `Idempotency-Key` (same id) gets the first one back."""
    row_id = row.id  # type: ignore[attr-defined]
    existing = await session.get(type(row), row_id)
    if existing is not None:
        return existing
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        winner = await session.get(type(row), row_id, populate_existing=True)
        if winner is None:
            raise ApiError(409, "conflict", f"a {what} with that name or key exists") from exc
        return winner
    return row


def _apply(row: SQLModel, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)
    if hasattr(row, "updated_at"):
        row.updated_at = datetime.now(UTC)


@router.get("/models", response_model=Page[ModelChoice])
async def list_models(
    user: CurrentUser, session: SessionDep, modality: Literal["chat", "image"] | None = None
) -> dict[str, Any]:
    """Active models; `available` reflects the provider and, for local workers, their health."""
    health = await worker_health(session)
    items = []
    for mode in [modality] if modality else ["chat", "image"]:
        for model, provider in await active_models(session, modality=mode):
            items.append(
                {
                    "key": model.key,
                    "display_name": model.display_name or model.key,
                    "provider": provider.name,
                    "modality": model.modality,
                    "task": model.task,
                    "is_default": model.is_default,
                    "available": usable(provider, health),
                }
            )
    return {"items": items, "next_cursor": None}


@admin.get("/providers", response_model=Page[ProviderPublic])
async def list_providers(user: AdminUser, session: SessionDep) -> dict[str, Any]:
    rows = (await session.execute(sa.select(Provider).order_by(col(Provider.name)))).scalars()
    return {"items": [provider_view(p) for p in rows], "next_cursor": None}


@admin.post("/providers", status_code=201, response_model=ProviderPublic, responses=errors(409))
async def create_provider(
    body: ProviderCreate,
    user: AdminUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    provider = Provider(
        id=new_or_derived_id("provider", user.id, idempotency_key), **body.model_dump()
    )
    return provider_view(await _create(session, provider, "provider"))


@admin.patch("/providers/{provider_id}", response_model=ProviderPublic, responses=errors(409))
async def update_provider(
    provider_id: uuid.UUID, body: ProviderUpdate, user: AdminUser, session: SessionDep
) -> dict[str, Any]:
    provider = await _get(session, Provider, provider_id, "provider")
    _apply(provider, body.model_dump(exclude_unset=True))
    await _flush(session, "provider")
    return provider_view(provider)


@admin.delete("/providers/{provider_id}", status_code=204)
async def delete_provider(provider_id: uuid.UUID, user: AdminUser, session: SessionDep) -> Response:
    await session.delete(await _get(session, Provider, provider_id, "provider"))
    return Response(status_code=204)


@admin.get("/models", response_model=Page[ModelPublic])
async def list_all_models(user: AdminUser, session: SessionDep) -> dict[str, Any]:
    rows = (
        await session.execute(
            sa.select(Model, Provider)
            .join(Provider, col(Provider.id) == col(Model.provider_id))
            .order_by(col(Model.modality), col(Model.priority), col(Model.key))
        )
    ).all()
    return {"items": [model_view(m, p) for m, p in rows], "next_cursor": None}


@admin.post("/models", status_code=201, response_model=ModelPublic, responses=errors(409))
async def create_model(
    body: ModelCreate,
    user: AdminUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    provider = await session.get(Provider, body.provider_id)
    if provider is None:
        raise ApiError(422, "unknown_provider", "no provider with that id")
    model = Model(id=new_or_derived_id("model", user.id, idempotency_key), **body.model_dump())
    return model_view(await _create(session, model, "model"), provider)


@admin.patch("/models/{model_id}", response_model=ModelPublic, responses=errors(409))
async def update_model(
    model_id: uuid.UUID, body: ModelUpdate, user: AdminUser, session: SessionDep
) -> dict[str, Any]:
    model = await _get(session, Model, model_id, "model")
    _apply(model, body.model_dump(exclude_unset=True))
    await _flush(session, "model")
    return model_view(model, await session.get(Provider, model.provider_id))


@admin.delete("/models/{model_id}", status_code=204)
async def delete_model(model_id: uuid.UUID, user: AdminUser, session: SessionDep) -> Response:
    await session.delete(await _get(session, Model, model_id, "model"))
    return Response(status_code=204)


@admin.get("/prompt-templates", response_model=Page[PromptTemplatePublic])
async def list_prompt_templates(user: AdminUser, session: SessionDep) -> dict[str, Any]:
    rows = (
        await session.execute(
            sa.select(PromptTemplateRow).order_by(
                col(PromptTemplateRow.use_case), col(PromptTemplateRow.name)
            )
        )
    ).scalars()
    return {"items": [template_view(t) for t in rows], "next_cursor": None}


@admin.post(
    "/prompt-templates",
    status_code=201,
    response_model=PromptTemplatePublic,
    responses=errors(409),
)
async def create_prompt_template(
    body: PromptTemplateCreate,
    user: AdminUser,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    template = PromptTemplateRow(
        id=new_or_derived_id("prompt-template", user.id, idempotency_key), **body.model_dump()
    )
    return template_view(await _create(session, template, "prompt template"))


@admin.patch(
    "/prompt-templates/{template_id}", response_model=PromptTemplatePublic, responses=errors(409)
)
async def update_prompt_template(
    template_id: uuid.UUID, body: PromptTemplateUpdate, user: AdminUser, session: SessionDep
) -> dict[str, Any]:
    template = await _get(session, PromptTemplateRow, template_id, "prompt template")
    _apply(template, body.model_dump(exclude_unset=True))
    await _flush(session, "prompt template")
    return template_view(template)


@admin.delete("/prompt-templates/{template_id}", status_code=204)
async def delete_prompt_template(
    template_id: uuid.UUID, user: AdminUser, session: SessionDep
) -> Response:
    await session.delete(await _get(session, PromptTemplateRow, template_id, "prompt template"))
    return Response(status_code=204)


@admin.get("/workers", response_model=Page[WorkerStatus])
async def list_workers(user: AdminUser, session: SessionDep) -> dict[str, Any]:
    """Worker health as last checked."""
    health = await worker_health(session)
    return {
        "items": [
            {"name": name, **status, "usable": fresh_and_healthy(status)}
            for name, status in sorted(health.items())
        ],
        "next_cursor": None,
    }
