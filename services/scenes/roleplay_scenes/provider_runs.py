"""Running one image request at a provider, by its protocol: one call (OpenAI images), or
submit and poll (fal's queue, Replicate) — woken by a webhook result when one arrives — and
resuming the request an earlier run of the job submitted (its handle is stored on the job)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from roleplay_common.events import (
    EventEnvelope,
    ModelRoute,
    RequestSceneJob,
)
from roleplay_common.webhooks import webhook_token
from roleplay_scenes.job_state import JobCancelledError, JobState
from roleplay_scenes.providers import fal_queue, openai_images, replicate
from roleplay_scenes.providers.errors import ImageProviderError
from roleplay_scenes.store import SceneJob


class ProviderRuns(JobState):
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
