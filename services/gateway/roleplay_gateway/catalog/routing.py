"""Model routing and prompt template selection, from the catalog's data.

Routes for a task, in the order a turn tries them: the requested model, then the task's
default, then the task's other active models by priority (lower first). Inactive providers and
models are left out, and so are local workers whose last health check failed or is older than
two minutes (the seed's `workerHealthCache` rule). A requested model that exists but is not
usable now is skipped (the seed also fell back to the default); one that does not exist for
the modality is a `422 unknown_model`. Nothing usable: `503 no_model_available` with
`Retry-After`.

Prompt template for (use case, target model, content mode), newest version first:
exact model and mode → universal (no target model) and mode → for `nsfw` only, the same two
with `sfw`. A `sfw` turn never falls back to an `nsfw` template. None: the chat service's
built-in default.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.events import ModelRoute, PromptTemplate
from roleplay_common.http import ApiError
from roleplay_gateway.catalog.store import Model, PromptTemplateRow, Provider, SystemConfig

WORKER_HEALTH_KEY = "worker_health"
HEALTH_MAX_AGE = timedelta(seconds=120)
"""A health result older than this is not trusted (the seed's rule); the checker may extend it
per entry with `valid_until` when it runs less often."""


async def worker_health(session: AsyncSession) -> dict[str, Any]:
    row = await session.get(SystemConfig, WORKER_HEALTH_KEY)
    return dict(row.value) if row else {}


def fresh_and_healthy(status: dict[str, Any] | None, now: datetime | None = None) -> bool:
    """A worker is usable when its last check passed and is recent enough."""
    if not status or status.get("is_healthy") is not True:
        return False
    now = now or datetime.now(UTC)
    try:
        if status.get("valid_until"):
            return now <= datetime.fromisoformat(str(status["valid_until"]))
        return now - datetime.fromisoformat(str(status["last_checked"])) <= HEALTH_MAX_AGE
    except (KeyError, ValueError, TypeError):
        return False


def usable(provider: Provider, health: dict[str, Any]) -> bool:
    if not provider.is_active:
        return False
    if provider.kind != "local_worker":
        return True
    return fresh_and_healthy(health.get(provider.name))


def to_route(model: Model, provider: Provider) -> ModelRoute:
    return ModelRoute(
        model_key=model.key,
        model_name=model.model_name,
        display_name=model.display_name,
        provider=provider.name,
        provider_kind=provider.kind,
        base_url=provider.base_url,
        api_key_env=provider.api_key_env,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
        priority=model.priority,
        timeout_seconds=model.timeout_seconds,
        max_concurrent_streams=model.max_concurrent_streams,
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
        cost_per_image=model.cost_per_image,
        health_url=provider.health_url,
        task=model.task,
    )


async def active_models(session: AsyncSession, *, modality: str) -> list[tuple[Model, Provider]]:
    rows = (
        await session.execute(
            sa.select(Model, Provider)
            .join(Provider, col(Provider.id) == col(Model.provider_id))
            .where(col(Model.modality) == modality, col(Model.is_active))
            .order_by(col(Model.priority), col(Model.key))
        )
    ).all()
    return [(m, p) for m, p in rows]


async def chat_routes(
    session: AsyncSession, requested_model: str | None, *, task: str = "roleplay"
) -> list[ModelRoute]:
    return await routes_for(session, "chat", requested_model, task=task)


async def memory_routes(session: AsyncSession) -> list[ModelRoute]:
    """The chat models of the `memory` task, in order; none usable: an empty list (the chat
    service then updates memory with the reply's own model)."""
    try:
        return await routes_for(session, "chat", None, task="memory")
    except ApiError:
        return []


async def image_routes(
    session: AsyncSession, requested_model: str | None, *, task: str = "t2i"
) -> list[ModelRoute]:
    return await routes_for(session, "image", requested_model, task=task)


async def routes_for(
    session: AsyncSession, modality: str, requested_model: str | None, *, task: str
) -> list[ModelRoute]:
    models = await active_models(session, modality=modality)
    health = await worker_health(session)
    ordered: list[tuple[Model, Provider]] = []
    if requested_model:
        requested = [(m, p) for m, p in models if m.key == requested_model]
        if not requested and not await _known(session, modality, requested_model):
            raise ApiError(
                422,
                "unknown_model",
                f"there is no {modality} model {requested_model!r}",
                {"model": requested_model},
            )
        ordered += requested  # an inactive one is skipped: the task's defaults stand in
    ordered += [(m, p) for m, p in models if m.task == task and m.is_default]
    ordered += [(m, p) for m, p in models if m.task == task and not m.is_default]
    seen: set[str] = set()
    routes = []
    for model, provider in ordered:
        if model.key in seen or not usable(provider, health):
            continue
        seen.add(model.key)
        routes.append(to_route(model, provider))
    if not routes:
        raise ApiError(
            503,
            "no_model_available",
            f"no {modality} model is available right now",
            {"modality": modality, "task": task},
            headers={"Retry-After": "30"},
        )
    return routes


async def _known(session: AsyncSession, modality: str, key: str) -> bool:
    found = await session.scalar(
        sa.select(col(Model.id)).where(col(Model.key) == key, col(Model.modality) == modality)
    )
    return found is not None


async def select_prompt_template(
    session: AsyncSession, *, use_case: str, target_model: str | None, content_mode: str
) -> PromptTemplate | None:
    modes = [content_mode] if content_mode == "sfw" else [content_mode, "sfw"]
    for mode in modes:
        for model in (target_model, None):
            stmt = sa.select(PromptTemplateRow).where(
                col(PromptTemplateRow.use_case) == use_case,
                col(PromptTemplateRow.content_mode) == mode,
                col(PromptTemplateRow.is_active),
            )
            stmt = stmt.where(
                col(PromptTemplateRow.target_model).is_(None)
                if model is None
                else col(PromptTemplateRow.target_model) == model
            )
            row = (
                await session.execute(stmt.order_by(col(PromptTemplateRow.version).desc()).limit(1))
            ).scalar_one_or_none()
            if row is not None:
                return PromptTemplate(
                    id=row.id,
                    name=row.name,
                    use_case=row.use_case,
                    content_mode="nsfw" if row.content_mode == "nsfw" else "sfw",
                    target_model=row.target_model,
                    system_prompt=row.system_prompt,
                )
    return None
