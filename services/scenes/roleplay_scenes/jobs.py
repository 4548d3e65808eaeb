"""Running a scene job: from `scenes.job.requested` to an image in `workspace-temp`.

1. `accept` (in the Kafka handler, one transaction): dedupe, record the job (`queued`) and its
   scene, announce it. The offset is committed right after.
2. `run` (background; one job at a time per conversation, so an i2i waits for the scene it
   continues): resolve the continuity reference (the given previous scene, else the
   conversation's latest, else the template's preview for the first i2i; t2i when there is
   none), write the prompt (the user's, or the scene narrative from the recent conversation),
   call the image provider with retries and fallback while reporting progress, store the image
   and its thumbnail with an expiry, and in one transaction complete the scene and the job and
   queue `scenes.job.completed`, `usage.recorded` for every provider call, and — when the
   conversation keeps scenes automatically — `library.keep.requested`.
3. Cancellation: a job still queued ends `cancelled` at once; a running one stops polling at
   its next check (woken at once on this instance), the provider is told (fal, Replicate), and
   it ends `cancelled` with `scenes.job.failed` (`cancelled: true`).
4. Durability (`leases.py`): the runner renews a lease on each job it holds; a job whose
   instance died is taken over by the sweeper of any instance, which polls the provider's
   request again when one was submitted (its handle is stored on the job) and resubmits
   otherwise. The expiry sweeper removes workspace objects and rows past their time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from roleplay_common.broker import publish_raw
from roleplay_common.db import add_to_outbox, claim_event
from roleplay_common.events import (
    EventEnvelope,
    KeepScene,
    LibraryAssetDeleted,
    LibraryAssetSaved,
    ModelRoute,
    RequestSceneJob,
    SceneJobCompleted,
    SceneJobFailed,
    SceneJobProgressed,
    StoredImage,
    UsageRecorded,
)
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.service import Runtime
from roleplay_common.storage import WORKSPACE_TEMP
from roleplay_common.webhooks import webhook_token
from roleplay_scenes import leases
from roleplay_scenes.domain.consistency import consistency_for, image_arguments, pick_references
from roleplay_scenes.domain.scene_prompt import compose, narrative_request, strength
from roleplay_scenes.providers import fal_queue, openai_images, replicate
from roleplay_scenes.providers.errors import ImageProviderError
from roleplay_scenes.providers.narrative import write_narrative
from roleplay_scenes.references import portrait_url, scene_image_url
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import Scene, SceneJob, WorkspaceAsset

log = get_logger(__name__)


FINISHED = ("completed", "failed", "cancelled")


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


class JobRunner:
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
        self._slots = asyncio.Semaphore(settings.max_concurrent_jobs)
        self._locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._callbacks: dict[uuid.UUID, asyncio.Event] = {}
        self._stopping = False

    # -- 1. accept -------------------------------------------------------------------------

    async def accept(self, command: RequestSceneJob, envelope: EventEnvelope) -> bool:
        async with self.runtime.db.transaction() as session:
            if not await claim_event(session, self.runtime.schema, envelope, consumer="jobs"):
                return False
            if await session.get(SceneJob, command.job_id) is not None:
                return False
            session.add(
                SceneJob(
                    id=command.job_id,
                    scene_id=command.scene_id,
                    user_id=command.user_id,
                    conversation_id=command.conversation_id,
                    command=envelope.model_dump(mode="json"),
                    lease_owner=self.instance,
                    lease_expires_at=leases.lease_until(self.settings.lease_seconds),
                    attempts=1,
                )
            )
            session.add(
                Scene(
                    id=command.scene_id,
                    job_id=command.job_id,
                    user_id=command.user_id,
                    conversation_id=command.conversation_id,
                    character_id=command.character.id,
                    message_id=command.message_id,
                    generation_mode=command.mode,
                    style=command.style,
                )
            )
            await session.flush()
            await add_to_outbox(
                session,
                self.runtime.schema,
                self.runtime.topics,
                self._envelope(self._progress(command, "queued", 0.0, "queued"), envelope),
            )
        return True

    def schedule(self, command: RequestSceneJob, envelope: EventEnvelope) -> None:
        if self._stopping:
            return  # accepted with a lease: another instance (or this one restarted) takes it
        if (running := self._running.get(command.job_id)) is not None and not running.done():
            return
        task = asyncio.create_task(self._guarded(command, envelope), name=str(command.job_id))
        self._running[command.job_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._running.get(command.job_id) is done:
                del self._running[command.job_id]

        task.add_done_callback(forget)

    async def shutdown(self) -> None:
        """Stop the local copies and release their leases, so another instance goes on."""
        self._stopping = True
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with self.runtime.db.transaction() as session:
                await leases.release(session, self.instance)

    async def _guarded(self, command: RequestSceneJob, envelope: EventEnvelope) -> None:
        with bind_correlation(envelope.correlation_id, job_id=str(command.job_id)):
            try:
                async with self._slots, self._locks[command.conversation_id]:
                    job = await self._job(command)
                    if job.finished_at is not None or job.lease_owner != self.instance:
                        return
                    await self.run(command, envelope)
            except asyncio.CancelledError:
                raise
            except LeaseLostError:
                log.info("scene job taken over elsewhere")
            except Exception:
                log.exception("scene job crashed")
                await self._fail(command, envelope, Outcome(), "internal_error", "the job failed")
            finally:
                self._callbacks.pop(command.job_id, None)

    # -- 2. run ----------------------------------------------------------------------------

    async def run(self, command: RequestSceneJob, envelope: EventEnvelope) -> None:
        outcome = Outcome()
        try:
            await self._check_cancel(command)
            await self._report(command, envelope, 0.1, "writing the scene")
            mode, previous, reference = await self._reference(command)
            consistency = consistency_for(
                command.character.consistency_method, command.character.id
            )
            references = pick_references(
                [reference, *await self._portraits(command, consistency.character_references)]
            )
            scene_text = command.prompt or await self._narrative(command, outcome)
            await self._check_cancel(command)
            moded = command.model_copy(update={"mode": mode})
            prompt = compose(moded, scene_text)
            arguments = image_arguments(prompt, references, strength(moded), consistency.seed)
            image, route = await self._generate(command, envelope, outcome, arguments, mode)
        except JobCancelledError:
            await self._fail(
                command, envelope, outcome, "cancelled", "the job was cancelled", cancelled=True
            )
            return
        except JobFailedError as failure:
            await self._fail(command, envelope, outcome, failure.code, failure.message)
            return
        await self._complete(
            command, envelope, outcome, image, route, prompt, mode, previous, consistency.seed
        )

    async def _reference(
        self, command: RequestSceneJob
    ) -> tuple[str, uuid.UUID | None, str | None]:
        """(mode, previous scene id, reference image URL) — i2i falls back to t2i without one."""
        if command.mode == "t2i":
            return "t2i", None, None
        async with self.runtime.db.transaction() as session:
            if command.previous_scene_id is not None:
                previous = await session.get(Scene, command.previous_scene_id)
                if previous is None or previous.user_id != command.user_id:
                    raise JobFailedError(
                        "previous_scene_not_found", "the previous scene does not exist"
                    )
            else:
                previous = (
                    await session.execute(
                        sa.select(Scene)
                        .where(
                            col(Scene.conversation_id) == command.conversation_id,
                            col(Scene.status) == "completed",
                            col(Scene.id) != command.scene_id,
                        )
                        .order_by(col(Scene.created_at).desc())
                        .limit(1)
                    )
                ).scalar_one_or_none()
        if previous is not None and previous.image_key:
            url = await scene_image_url(self.runtime, previous)
            if url is None:
                raise JobFailedError(
                    "previous_scene_expired",
                    "the previous scene's image has expired (keep scenes to continue from them)",
                )
            return command.mode, previous.id, url
        if command.mode == "modification":
            raise JobFailedError("previous_scene_not_found", "there is no scene to modify")
        if command.template and command.template.preview_image_url:
            return "i2i", None, command.template.preview_image_url
        return "t2i", None, None

    async def _portraits(self, command: RequestSceneJob, wanted: bool) -> list[str | None]:
        """The character's portrait, and the persona's for `both_characters`."""
        if not wanted:
            return []
        roles = ("character", "persona") if command.style == "both_characters" else ("character",)
        return [await portrait_url(self.runtime, r) for r in command.references if r.role in roles]

    def _routes(self, command: RequestSceneJob, mode: str) -> list[ModelRoute]:
        """The command's routes (for its mode); a job that fell back to `t2i` tries the `t2i`
        models first."""
        if mode == command.mode:
            return command.routes
        fitting = [r for r in command.routes if r.task in (None, mode)]
        return fitting + [r for r in command.routes if r not in fitting]

    async def _narrative(self, command: RequestSceneJob, outcome: Outcome) -> str:
        route = command.narrative_route
        if route is None:
            return f"{command.character.name} in the scene"
        started = time.monotonic()
        try:
            text, tokens_in, tokens_out = await write_narrative(
                self.http, route, narrative_request(command)
            )
        except ImageProviderError as exc:
            outcome.calls.append(
                Call(route, "scene_narrative", False, _ms(started), exc.status, exc.code)
            )
            return f"{command.character.name} in the scene"
        outcome.calls.append(
            Call(route, "scene_narrative", True, _ms(started), 200, None, tokens_in, tokens_out)
        )
        return text

    async def _generate(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        outcome: Outcome,
        arguments: dict[str, Any],
        mode: str,
    ) -> tuple[StoredImage, ModelRoute]:
        last: ImageProviderError | None = None
        request_type = {"t2i": "image", "i2i": "image_i2i"}.get(mode, "image_modification")
        for route in self._routes(command, mode):
            for attempt in range(self.settings.provider_retries + 1):
                await self._check_cancel(command)
                started = time.monotonic()
                try:
                    data, content_type = await self._run_on(command, envelope, route, arguments)
                    image = await self._store(command, data, content_type)
                except ImageProviderError as exc:
                    outcome.calls.append(
                        Call(route, request_type, False, _ms(started), exc.status, exc.code)
                    )
                    last = exc
                    await self._set_job(command.job_id, provider_handle=None)
                    if not exc.retryable:
                        break
                    await asyncio.sleep(self.settings.provider_backoff_seconds * 2**attempt)
                    continue
                outcome.calls.append(Call(route, request_type, True, _ms(started), 200))
                return image, route
        if last is None:
            raise JobFailedError("no_model_available", "no image model is available")
        raise JobFailedError(last.code, last.message)

    async def _run_on(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        route: ModelRoute,
        arguments: dict[str, Any],
    ) -> tuple[bytes, str]:
        """The image bytes from the route's provider, by its protocol."""
        if route.provider_kind == "openai_images":
            await self._set_job(command.job_id, model=route.model_key, delivered_by="response")
            await self._report(command, envelope, 0.5, "painting")
            return await openai_images.generate(self.http, route, arguments), "image/png"
        if route.provider_kind == "replicate":
            url = await self._replicate(command, envelope, route, arguments)
        else:
            result = await self._fal(command, envelope, route, arguments)
            url = result["images"][0]["url"]
        return await fal_queue.download(self.http, url)

    async def _replicate(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        route: ModelRoute,
        arguments: dict[str, Any],
    ) -> str:
        handle = await self._handle(command, "replicate", route)
        if handle is not None:
            prediction: dict[str, Any] = dict(handle["prediction"])
            await self._report(command, envelope, 0.3, "resuming")
        else:
            prediction = await replicate.create(self.http, route, arguments)
            await self._set_job(
                command.job_id,
                provider_request_id=prediction["id"],
                model=route.model_key,
                provider_handle={
                    "kind": "replicate",
                    "model_key": route.model_key,
                    "prediction": {"id": prediction["id"], "urls": prediction["urls"]},
                },
            )
        deadline = time.monotonic() + self.settings.job_timeout_seconds
        progress = 0.3
        while True:
            if (await self._current(command)).cancel_requested:
                with contextlib.suppress(ImageProviderError):
                    await replicate.cancel(self.http, route, prediction)
                raise JobCancelledError
            prediction = await replicate.get(self.http, route, prediction)
            status = prediction["status"]
            if status == "succeeded" and prediction.get("output"):
                await self._set_job(command.job_id, delivered_by="poll")
                output = prediction["output"]
                return str(output[0] if isinstance(output, list) else output)
            if status in ("failed", "canceled"):
                raise ImageProviderError(
                    "provider_failed", str(prediction.get("error") or status), retryable=True
                )
            if time.monotonic() > deadline:
                raise ImageProviderError(
                    "provider_timeout", "the image took too long", retryable=True
                )
            progress = min(progress + 0.1, 0.85)
            await self._report(command, envelope, progress, "painting")
            await asyncio.sleep(self.settings.poll_interval_seconds)

    async def _fal(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        route: ModelRoute,
        arguments: dict[str, Any],
    ) -> dict[str, Any]:
        handle = await self._handle(command, "fal", route)
        if handle is not None:
            submitted = fal_queue.Submitted(
                handle["request_id"],
                handle["status_url"],
                handle["response_url"],
                handle["cancel_url"],
            )
            await self._report(command, envelope, 0.3, "resuming")
        else:
            await self._set_job(command.job_id, provider_result=None, delivered_by=None)
            submitted = await fal_queue.submit(
                self.http, route, arguments, self._webhook_url(command)
            )
            await self._set_job(
                command.job_id,
                provider_request_id=submitted.request_id,
                model=route.model_key,
                provider_handle={
                    "kind": "fal",
                    "model_key": route.model_key,
                    "request_id": submitted.request_id,
                    "status_url": submitted.status_url,
                    "response_url": submitted.response_url,
                    "cancel_url": submitted.cancel_url,
                },
            )
        deadline = time.monotonic() + self.settings.job_timeout_seconds
        progress = 0.3
        callback = self._callbacks.setdefault(command.job_id, asyncio.Event())
        while True:
            job = await self._current(command)
            if job.cancel_requested:
                with contextlib.suppress(ImageProviderError):
                    await fal_queue.cancel(self.http, route, submitted)
                raise JobCancelledError
            if job.provider_result is not None:
                return await self._delivered(command, job.provider_result)
            state = await fal_queue.status(self.http, route, submitted)
            if state == "COMPLETED":
                await self._set_job(command.job_id, delivered_by="poll")
                return await fal_queue.result(self.http, route, submitted)
            if state not in ("IN_QUEUE", "IN_PROGRESS"):
                raise ImageProviderError(
                    "provider_failed", f"the job ended {state}", retryable=True
                )
            if time.monotonic() > deadline:
                raise ImageProviderError(
                    "provider_timeout", "the image took too long", retryable=True
                )
            progress = min(progress + 0.1, 0.85)
            stage = "waiting in the queue" if state == "IN_QUEUE" else "painting"
            await self._report(command, envelope, progress, stage)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(callback.wait(), self.settings.poll_interval_seconds)
            callback.clear()

    async def _handle(
        self, command: RequestSceneJob, kind: str, route: ModelRoute
    ) -> dict[str, Any] | None:
        """The provider request an earlier run of this job submitted to `route`, if any."""
        handle = (await self._job(command)).provider_handle
        if handle and handle.get("kind") == kind and handle.get("model_key") == route.model_key:
            return handle
        return None

    async def _store(self, command: RequestSceneJob, data: bytes, content_type: str) -> StoredImage:
        thumbnail, width, height = await asyncio.to_thread(
            _thumbnail, data, self.settings.thumbnail_px
        )
        base = f"{command.user_id}/{command.conversation_id}/{command.scene_id}"
        key, thumb_key = f"{base}.png", f"{base}.thumb.png"
        await self.runtime.storage.put(WORKSPACE_TEMP, key, data, content_type)
        await self.runtime.storage.put(WORKSPACE_TEMP, thumb_key, thumbnail, "image/png")
        expires = datetime.now(UTC) + timedelta(hours=self.settings.workspace_ttl_hours)
        async with self.runtime.db.transaction() as session:
            await session.execute(  # an earlier run's rows, when a job was taken over
                sa.delete(WorkspaceAsset).where(col(WorkspaceAsset.scene_id) == command.scene_id)
            )
            for k, size, kind in (
                (key, len(data), content_type),
                (thumb_key, len(thumbnail), "image/png"),
            ):
                session.add(
                    WorkspaceAsset(
                        user_id=command.user_id,
                        scene_id=command.scene_id,
                        bucket=WORKSPACE_TEMP,
                        key=k,
                        content_type=kind,
                        size=size,
                        expires_at=expires,
                    )
                )
        return StoredImage(
            bucket=WORKSPACE_TEMP,
            key=key,
            thumbnail_key=thumb_key,
            content_type=content_type,
            width=width,
            height=height,
        )

    async def _complete(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        outcome: Outcome,
        image: StoredImage,
        route: ModelRoute,
        prompt: str,
        mode: str,
        previous: uuid.UUID | None,
        seed: int | None,
    ) -> None:
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, command.job_id, with_for_update=True)
            scene = await session.get(Scene, command.scene_id, with_for_update=True)
            assert scene is not None and job is not None
            if job.finished_at is not None or job.lease_owner != self.instance:
                raise LeaseLostError
            scene.status = "completed"
            scene.seed = seed
            scene.prompt = prompt
            scene.generation_mode = mode
            scene.previous_scene_id = previous
            scene.image_bucket, scene.image_key = image.bucket, image.key
            scene.thumbnail_key, scene.width, scene.height = (
                image.thumbnail_key,
                image.width,
                image.height,
            )
            job.status, job.progress, job.stage = "completed", 1.0, "done"
            job.finished_at = job.updated_at = datetime.now(UTC)
            events = [
                self._envelope(
                    SceneJobCompleted(
                        job_id=command.job_id,
                        scene_id=command.scene_id,
                        conversation_id=command.conversation_id,
                        user_id=command.user_id,
                        image=image,
                        prompt=prompt,
                        generation_mode=mode,
                        previous_scene_id=previous,
                        message_id=command.message_id,
                        character_id=command.character.id,
                        model=route.model_key,
                    ),
                    envelope,
                )
            ]
            if command.auto_keep:
                events.append(
                    self._envelope(
                        KeepScene(
                            user_id=command.user_id,
                            scene_id=command.scene_id,
                            conversation_id=command.conversation_id,
                            character_id=command.character.id,
                            image=image,
                            prompt=prompt,
                        ),
                        envelope,
                    )
                )
            await add_to_outbox(session, self.runtime.schema, self.runtime.topics, *events)
            await self._record_usage(session, command, envelope, outcome)
        log.info("scene completed", mode=mode, model=route.model_key)

    async def _fail(
        self,
        command: RequestSceneJob,
        envelope: EventEnvelope,
        outcome: Outcome,
        code: str,
        message: str,
        *,
        cancelled: bool = False,
    ) -> None:
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, command.job_id, with_for_update=True)
            if job is None or job.finished_at is not None or job.lease_owner != self.instance:
                return
            await self._finish(session, job, envelope, code, message, cancelled=cancelled)
            await self._record_usage(session, command, envelope, outcome)
        log.warning("scene job ended", status="cancelled" if cancelled else "failed", code=code)

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
        await session.execute(
            sa.update(Scene).where(col(Scene.id) == job.scene_id).values(status=status)
        )
        await add_to_outbox(
            session,
            self.runtime.schema,
            self.runtime.topics,
            self._envelope(
                SceneJobFailed(
                    job_id=job.id,
                    scene_id=job.scene_id,
                    conversation_id=job.conversation_id,
                    user_id=job.user_id,
                    code=code,
                    message=message,
                    cancelled=cancelled,
                ),
                cause,
            ),
        )

    def _webhook_url(self, command: RequestSceneJob) -> str | None:
        base = self.settings.webhook_base_url
        if not base:
            return None
        token = webhook_token(self.settings.webhook_secret.get_secret_value(), str(command.job_id))
        return f"{base.rstrip('/')}/v1/webhooks/fal/{command.job_id}?token={token}"

    async def _delivered(self, command: RequestSceneJob, body: dict[str, Any]) -> dict[str, Any]:
        """A result the provider sent to the webhook (fal: `status` OK/ERROR, `payload`)."""
        await self._set_job(command.job_id, delivered_by="webhook")
        payload = body.get("payload")
        if body.get("status") != "OK" or not isinstance(payload, dict) or not payload.get("images"):
            raise ImageProviderError(
                "provider_failed",
                str(body.get("error") or "the provider reported an error"),
                retryable=True,
            )
        return payload

    async def record_callback(self, job_id: uuid.UUID, body: dict[str, Any]) -> bool:
        """Store a webhook result for the job's runner (on any instance) and wake it here."""
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, job_id, with_for_update=True)
            if job is None or job.finished_at is not None or job.provider_result is not None:
                return job is not None
            job.provider_result = body
        if event := self._callbacks.get(job_id):
            event.set()
        return True

    # -- cancellation and expiry -----------------------------------------------------------

    async def cancel(self, job_id: uuid.UUID, user_id: uuid.UUID) -> SceneJob | None:
        """Stop a job: one still queued ends `cancelled` at once; a running one is flagged and
        its runner (woken here when it runs on this instance) stops, tells the provider and
        ends it."""
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, job_id, with_for_update=True)
            if job is None or job.user_id != user_id:
                return None
            if job.finished_at is None:
                job.cancel_requested = True
                job.updated_at = datetime.now(UTC)
                if job.status == "queued" and job.provider_handle is None:
                    cause = EventEnvelope.model_validate(job.command)
                    await self._finish(
                        session, job, cause, "cancelled", "the job was cancelled", cancelled=True
                    )
        if event := self._callbacks.get(job_id):
            event.set()
        return job

    # -- leases and takeover ---------------------------------------------------------------

    async def watch_leases(self) -> None:
        """Renew this instance's leases and take over jobs whose lease expired, for ever."""
        while True:
            try:
                await self.renew_leases()
                await self.take_over_expired()
            except Exception:
                log.exception("lease upkeep failed")
            await asyncio.sleep(self.settings.lease_seconds / 3)

    async def renew_leases(self) -> None:
        held = [job_id for job_id, task in self._running.items() if not task.done()]
        async with self.runtime.db.transaction() as session:
            kept = await leases.renew(session, self.instance, held, self.settings.lease_seconds)
        for job_id in set(held) - kept:
            if (task := self._running.get(job_id)) is not None:
                log.warning("scene job lease lost; stopping the local copy", job_id=str(job_id))
                task.cancel()

    async def take_over_expired(self) -> int:
        """Resume jobs whose instance died; fail those that used up their attempts. Returns
        how many it resumed."""
        if self._stopping:
            return 0
        resume: list[tuple[RequestSceneJob, EventEnvelope]] = []
        stop_at_provider: list[tuple[RequestSceneJob, dict[str, Any]]] = []
        async with self.runtime.db.transaction() as session:
            for job in await leases.expired(session):
                cause = EventEnvelope.model_validate(job.command)
                command = cause.payload()
                assert isinstance(command, RequestSceneJob)
                if job.cancel_requested:
                    if job.provider_handle:
                        stop_at_provider.append((command, job.provider_handle))
                    await self._finish(
                        session, job, cause, "cancelled", "the job was cancelled", cancelled=True
                    )
                elif job.attempts >= self.settings.max_attempts:
                    await self._finish(
                        session,
                        job,
                        cause,
                        "job_abandoned",
                        f"the job could not be finished in {job.attempts} attempts",
                    )
                else:
                    job.attempts += 1
                    job.lease_owner = self.instance
                    job.lease_expires_at = leases.lease_until(self.settings.lease_seconds)
                    job.updated_at = datetime.now(UTC)
                    resume.append((command, cause))
        for command, handle in stop_at_provider:
            await self._cancel_at_provider(command, handle)
        for command, cause in resume:
            log.info("scene job taken over", job_id=str(command.job_id))
            self.schedule(command, cause)
        return len(resume)

    async def _cancel_at_provider(self, command: RequestSceneJob, handle: dict[str, Any]) -> None:
        route = next((r for r in command.routes if r.model_key == handle.get("model_key")), None)
        if route is None:
            return
        with contextlib.suppress(ImageProviderError, KeyError):
            if handle.get("kind") == "fal":
                await fal_queue.cancel(
                    self.http,
                    route,
                    fal_queue.Submitted(
                        handle["request_id"],
                        handle["status_url"],
                        handle["response_url"],
                        handle["cancel_url"],
                    ),
                )
            elif handle.get("kind") == "replicate":
                await replicate.cancel(self.http, route, handle["prediction"])

    # -- kept copies -----------------------------------------------------------------------

    async def record_kept(self, fact: LibraryAssetSaved) -> None:
        """The library's copy of a scene: i2i reads it once the workspace copy has expired."""
        async with self.runtime.db.transaction() as session:
            await session.execute(
                sa.update(Scene)
                .where(col(Scene.id) == fact.scene_id, col(Scene.user_id) == fact.user_id)
                .values(
                    kept_asset_id=fact.asset_id,
                    kept_bucket=fact.image.bucket,
                    kept_key=fact.image.key,
                )
            )

    async def forget_kept(self, fact: LibraryAssetDeleted) -> None:
        async with self.runtime.db.transaction() as session:
            await session.execute(
                sa.update(Scene)
                .where(col(Scene.kept_asset_id) == fact.asset_id)
                .values(kept_asset_id=None, kept_bucket=None, kept_key=None)
            )

    async def sweep_expired(self) -> int:
        """Delete workspace objects and rows past their expiry; returns how many."""
        async with self.runtime.db.transaction() as session:
            expired = (
                (
                    await session.execute(
                        sa.select(WorkspaceAsset)
                        .where(col(WorkspaceAsset.expires_at) < datetime.now(UTC))
                        .limit(500)
                        .with_for_update(skip_locked=True)
                    )
                )
                .scalars()
                .all()
            )
            for asset in expired:
                await self.runtime.storage.delete(asset.bucket, asset.key)
                await session.delete(asset)
        return len(expired)

    async def watch_expiry(self) -> None:
        while True:
            try:
                while await self.sweep_expired() == 500:
                    pass
            except Exception:
                log.exception("expiry sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_seconds)

    # -- helpers ---------------------------------------------------------------------------

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
        fact = self._progress(command, "processing", progress, stage)
        await publish_raw(
            self.runtime.broker,
            self.runtime.topics.name(SceneJobProgressed),
            self._envelope(fact, envelope),
        )

    @staticmethod
    def _progress(
        command: RequestSceneJob, status: str, progress: float, stage: str
    ) -> SceneJobProgressed:
        return SceneJobProgressed(
            job_id=command.job_id,
            scene_id=command.scene_id,
            conversation_id=command.conversation_id,
            user_id=command.user_id,
            status=status,
            progress=progress,
            stage=stage,
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


def _thumbnail(data: bytes, px: int) -> tuple[bytes, int, int]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except OSError as exc:
        raise ImageProviderError(
            "invalid_image", "the provider returned an unreadable image", retryable=True
        ) from exc
    width, height = image.size
    image.thumbnail((px, px))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue(), width, height


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
