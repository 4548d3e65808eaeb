"""A scene job's state as its runner sees it: reading and updating the job while this instance
holds its lease, progress reports, ending it failed or cancelled with its event, and the usage
of every provider call."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.broker import publish_raw
from roleplay_common.db import add_to_outbox
from roleplay_common.events import (
    EventEnvelope,
    ModelRoute,
    RequestSceneJob,
    UsageRecorded,
)
from roleplay_common.logging import get_logger
from roleplay_common.service import Runtime
from roleplay_scenes import job_facts
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import Scene, SceneJob

log = get_logger(__name__)


class JobCancelledError(Exception):
    pass


class LeaseLostError(Exception):
    """Another instance holds the job now (or it ended meanwhile): this copy stops quietly."""


class JobFailedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Call:
    """One provider call, for usage accounting."""

    route: ModelRoute
    request_type: str
    ok: bool
    latency_ms: int
    status: int | None = None
    code: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass
class Outcome:
    calls: list[Call] = field(default_factory=list)


class JobState:
    def __init__(
        self,
        runtime: Runtime,
        settings: ScenesSettings,
        http: httpx.AsyncClient,
        *,
        instance: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.http = http
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._callbacks: dict[uuid.UUID, asyncio.Event] = {}

    async def _finish(
        self,
        session: AsyncSession,
        job: SceneJob,
        cause: EventEnvelope,
        code: str,
        message: str,
        *,
        cancelled: bool = False,
    ) -> None:
        """End a locked, unfinished job `failed` or `cancelled`, with its event."""
        status = "cancelled" if cancelled else "failed"
        job.status, job.error_code, job.error_message = status, code, message
        job.finished_at = job.updated_at = datetime.now(UTC)
        character_id = (
            await session.execute(
                sa.update(Scene)
                .where(col(Scene.id) == job.scene_id)
                .values(status=status)
                .returning(col(Scene.character_id))
            )
        ).scalar_one()
        await add_to_outbox(
            session,
            self.runtime.schema,
            self.runtime.topics,
            self._envelope(
                job_facts.failed(job, character_id, code, message, cancelled=cancelled), cause
            ),
        )

    async def _job(self, command: RequestSceneJob) -> SceneJob:
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, command.job_id)
        assert job is not None
        return job

    async def _current(self, command: RequestSceneJob) -> SceneJob:
        """The job, as long as this instance still holds it (else `LeaseLostError`)."""
        job = await self._job(command)
        if job.finished_at is not None or job.lease_owner != self.instance:
            raise LeaseLostError
        return job

    async def _check_cancel(self, command: RequestSceneJob) -> None:
        if (await self._current(command)).cancel_requested:
            raise JobCancelledError

    async def _set_job(self, job_id: uuid.UUID, **values: Any) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(
                sa.update(SceneJob)
                .where(col(SceneJob.id) == job_id, col(SceneJob.finished_at).is_(None))
                .values(updated_at=datetime.now(UTC), **values)
            )

    async def _report(
        self, command: RequestSceneJob, envelope: EventEnvelope, progress: float, stage: str
    ) -> None:
        await self._set_job(command.job_id, status="processing", progress=progress, stage=stage)
        fact = job_facts.progressed(command, "processing", progress, stage)
        await publish_raw(
            self.runtime.broker,
            self.runtime.topics.name(type(fact)),
            self._envelope(fact, envelope),
        )

    def _envelope(self, payload: Any, cause: EventEnvelope) -> EventEnvelope:
        return self.runtime.envelope(payload, causation=cause)

    async def _record_usage(
        self,
        session: AsyncSession,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        outcome: Outcome,
    ) -> None:
        now = datetime.now(UTC)
        events = []
        for call in outcome.calls:
            image = call.request_type != "scene_narrative"
            cost_out = (
                call.route.cost_per_image
                if image and call.ok
                else (
                    Decimal(call.tokens_out) * call.route.output_cost_per_mtok / Decimal(1_000_000)
                )
            )
            cost_in = (
                Decimal(0)
                if image
                else (Decimal(call.tokens_in) * call.route.input_cost_per_mtok / Decimal(1_000_000))
            )
            events.append(
                self._envelope(
                    UsageRecorded(
                        user_id=command.user_id,
                        provider=call.route.provider,
                        model=call.route.model_key,
                        request_type=call.request_type,
                        tokens_in=call.tokens_in,
                        tokens_out=call.tokens_out,
                        cost_in=cost_in.quantize(Decimal("0.000001")),
                        cost_out=cost_out.quantize(Decimal("0.000001")),
                        status="success"
                        if call.ok
                        else ("timeout" if call.code == "provider_timeout" else "error"),
                        response_status=call.status,
                        latency_ms=call.latency_ms,
                        occurred_at=now,
                        reference_id=str(command.job_id),
                        error_code=call.code,
                    ),
                    envelope,
                )
            )
        await add_to_outbox(session, self.runtime.schema, self.runtime.topics, *events)


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
