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
4. A character's portrait (`purpose` `portrait`) is the same job without a conversation: its
   prompt comes from the card (`domain/portrait_prompt.py`), it runs `t2i` on the command's
   routes with the character's locked seed (when its method locks one), one at a time per
   character, and announces `scenes.portrait.*` instead of the scene facts (`job_facts.py`).
5. Durability (`leases.py`): the runner renews a lease on each job it holds; a job whose
   instance died is taken over by the sweeper of any instance, which polls the provider's
   request again when one was submitted (its handle is stored on the job) and resubmits
   otherwise. The expiry sweeper removes workspace objects and rows past their time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from PIL import Image
from sqlmodel import col

from roleplay_common.db import add_to_outbox, claim_event
from roleplay_common.events import (
    EventEnvelope,
    KeepScene,
    LibraryAssetDeleted,
    LibraryAssetSaved,
    ModelRoute,
    RequestSceneJob,
    StoredImage,
)
from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.service import Runtime
from roleplay_common.storage import WORKSPACE_TEMP
from roleplay_common.trace_context import parent_for
from roleplay_common.tracing import tracer
from roleplay_scenes import job_facts, leases
from roleplay_scenes.domain.consistency import consistency_for, image_arguments, pick_references
from roleplay_scenes.domain.portrait_prompt import portrait_prompt
from roleplay_scenes.domain.scene_prompt import compose, narrative_request, strength
from roleplay_scenes.job_state import (
    Call,
    JobCancelledError,
    JobFailedError,
    LeaseLostError,
    Outcome,
    elapsed_ms,
)
from roleplay_scenes.provider_runs import ProviderRuns
from roleplay_scenes.providers.errors import ImageProviderError
from roleplay_scenes.providers.narrative import write_narrative
from roleplay_scenes.references import portrait_url, scene_image_url
from roleplay_scenes.settings import ScenesSettings
from roleplay_scenes.store import Scene, SceneJob, WorkspaceAsset

log = get_logger(__name__)
TRACER = tracer("roleplay.scenes")


@dataclass(frozen=True)
class Plan:
    """What the provider is asked for, and what the finished image records."""

    mode: str
    previous: uuid.UUID | None
    prompt: str
    arguments: dict[str, Any]
    seed: int | None


class JobRunner(ProviderRuns):
    def __init__(
        self,
        runtime: Runtime,
        settings: ScenesSettings,
        http: httpx.AsyncClient,
        *,
        instance: str | None = None,
    ) -> None:
        super().__init__(runtime, settings, http, instance=instance)
        self._slots = asyncio.Semaphore(settings.max_concurrent_jobs)
        self._locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
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
                    purpose=command.purpose,
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
                self._envelope(job_facts.progressed(command, "queued", 0.0, "queued"), envelope),
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
        with (
            bind_correlation(envelope.correlation_id, job_id=str(command.job_id)),
            TRACER.start_as_current_span(
                "scenes.job.run",
                context=parent_for(envelope.traceparent),
                attributes={
                    "roleplay.job_id": str(command.job_id),
                    "roleplay.job.purpose": command.purpose,
                    "roleplay.correlation_id": envelope.correlation_id,
                },
            ),
        ):
            try:
                # One at a time per conversation (a chain), or per character (its portrait).
                async with (
                    self._slots,
                    self._locks[command.conversation_id or command.character.id],
                ):
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
            if command.purpose == "portrait":
                await self._report(command, envelope, 0.1, "writing the prompt")
                plan = self._portrait_plan(command)
            else:
                await self._report(command, envelope, 0.1, "writing the scene")
                plan = await self._scene_plan(command, outcome)
            await self._check_cancel(command)
            image, route = await self._generate(
                command, envelope, outcome, plan.arguments, plan.mode
            )
        except JobCancelledError:
            await self._fail(
                command, envelope, outcome, "cancelled", "the job was cancelled", cancelled=True
            )
            return
        except JobFailedError as failure:
            await self._fail(command, envelope, outcome, failure.code, failure.message)
            return
        await self._complete(command, envelope, outcome, image, route, plan)

    async def _scene_plan(self, command: RequestSceneJob, outcome: Outcome) -> Plan:
        """The scene's continuity reference, consistency and prompt."""
        mode, previous, reference = await self._reference(command)
        consistency = consistency_for(command.character.consistency_method, command.character.id)
        references = pick_references(
            [reference, *await self._portraits(command, consistency.character_references)]
        )
        scene_text = command.prompt or await self._narrative(command, outcome)
        moded = command.model_copy(update={"mode": mode})
        prompt = compose(moded, scene_text)
        arguments = image_arguments(prompt, references, strength(moded), consistency.seed)
        return Plan(mode, previous, prompt, arguments, consistency.seed)

    @staticmethod
    def _portrait_plan(command: RequestSceneJob) -> Plan:
        """A portrait: `t2i` from the card, with the seed the character's scenes lock to."""
        seed = consistency_for(command.character.consistency_method, command.character.id).seed
        prompt = portrait_prompt(command)
        return Plan("t2i", None, prompt, image_arguments(prompt, [], 0.0, seed), seed)

    async def _reference(
        self, command: RequestSceneJob
    ) -> tuple[str, uuid.UUID | None, str | None]:
        """(mode, previous scene id, reference image URL) — i2i falls back to t2i without one."""
        if command.mode == "t2i":
            return "t2i", None, None
        async with self.runtime.db.transaction() as session:
            if command.previous_scene_id is not None:
                previous = await session.get(Scene, command.previous_scene_id)
                if (
                    previous is None
                    or previous.user_id != command.user_id
                    or previous.conversation_id is None  # a portrait is no scene to continue
                ):
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
                Call(route, "scene_narrative", False, elapsed_ms(started), exc.status, exc.code)
            )
            return f"{command.character.name} in the scene"
        outcome.calls.append(
            Call(
                route,
                "scene_narrative",
                True,
                elapsed_ms(started),
                200,
                None,
                tokens_in,
                tokens_out,
            )
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
        request_type = (
            "portrait"
            if command.purpose == "portrait"
            else {"t2i": "image", "i2i": "image_i2i"}.get(mode, "image_modification")
        )
        for route in self._routes(command, mode):
            for attempt in range(self.settings.provider_retries + 1):
                await self._check_cancel(command)
                started = time.monotonic()
                try:
                    data, content_type = await self._run_on(command, envelope, route, arguments)
                    image = await self._store(command, data, content_type)
                except ImageProviderError as exc:
                    outcome.calls.append(
                        Call(route, request_type, False, elapsed_ms(started), exc.status, exc.code)
                    )
                    last = exc
                    await self._set_job(command.job_id, provider_handle=None)
                    if not exc.retryable:
                        break
                    await asyncio.sleep(self.settings.provider_backoff_seconds * 2**attempt)
                    continue
                outcome.calls.append(Call(route, request_type, True, elapsed_ms(started), 200))
                return image, route
        if last is None:
            raise JobFailedError("no_model_available", "no image model is available")
        raise JobFailedError(last.code, last.message)

    async def _store(self, command: RequestSceneJob, data: bytes, content_type: str) -> StoredImage:
        thumbnail, width, height = await asyncio.to_thread(
            _thumbnail, data, self.settings.thumbnail_px
        )
        base = f"{command.user_id}/{command.conversation_id or 'portraits'}/{command.scene_id}"
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
        plan: Plan,
    ) -> None:
        async with self.runtime.db.transaction() as session:
            job = await session.get(SceneJob, command.job_id, with_for_update=True)
            scene = await session.get(Scene, command.scene_id, with_for_update=True)
            assert scene is not None and job is not None
            if job.finished_at is not None or job.lease_owner != self.instance:
                raise LeaseLostError
            scene.status = "completed"
            scene.seed = plan.seed
            scene.prompt = plan.prompt
            scene.generation_mode = plan.mode
            scene.previous_scene_id = plan.previous
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
                    job_facts.completed(
                        command, image, plan.prompt, plan.mode, plan.previous, route
                    ),
                    envelope,
                )
            ]
            if command.auto_keep and command.conversation_id is not None:
                events.append(
                    self._envelope(
                        KeepScene(
                            user_id=command.user_id,
                            scene_id=command.scene_id,
                            conversation_id=command.conversation_id,
                            character_id=command.character.id,
                            image=image,
                            prompt=plan.prompt,
                        ),
                        envelope,
                    )
                )
            await add_to_outbox(session, self.runtime.schema, self.runtime.topics, *events)
            await self._record_usage(session, command, envelope, outcome)
        log.info("image completed", purpose=command.purpose, mode=plan.mode, model=route.model_key)

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
                try:
                    command = cause.payload()
                    assert isinstance(command, RequestSceneJob)
                except Exception:  # no longer readable: it cannot run again, so it ends
                    log.exception("scene job unreadable", job_id=str(job.id))
                    await self._finish(session, job, cause, "internal_error", "the job failed")
                    continue
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
