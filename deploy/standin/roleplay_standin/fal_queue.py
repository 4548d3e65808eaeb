"""STAND-IN fal.ai queue API: submit, status, result, cancel, and the webhook when done.

Real fal: `POST https://queue.fal.run/{model_id}` (key as `Authorization: Key …`); here
`POST /fal/{model_id}`. The answer is `{request_id, status_url, response_url, cancel_url,
queue_position}`; as on fal, a model id with a subpath (`fal-ai/flux/dev`) is submitted with
it, but its status/result/cancel URLs leave it out (`fal-ai/flux/requests/…`).

Input like fal's flux/sdxl models: `{prompt, image_size?, image_url? (i2i reference),
strength?, num_images?, seed?}`. A job is `IN_QUEUE` for the first third of `image_job_ms`,
`IN_PROGRESS` until it has passed, then `COMPLETED` (status answers 202 until then, 200 after).
The result is `{images: [{url, width, height, content_type, file_name}], seed, prompt, timings,
has_nsfw_concepts}`. With `?fal_webhook=<url>` the fal webhook body `{request_id,
gateway_request_id, status: "OK"|"ERROR", payload, error?}` is POSTed there when done.

A `job_error` failure makes the job end in error: status `COMPLETED` with `error`, the result
answers the failure's status with `{detail}`, the webhook says `ERROR`. A cancelled job
reports `COMPLETED` with `error: "Request was cancelled"` and gets no webhook.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roleplay_standin import webhooks
from roleplay_standin.failure_responses import (
    error_response,
    injected_error,
    json_answer,
    json_body,
    key_accepted,
    unauthorized,
)
from roleplay_standin.images import ImageSpec, fal_image_size, image_count, prompt_seed
from roleplay_standin.state import StandinState, state_of

router = APIRouter(prefix="/fal", tags=["fal.ai queue"])
QueueStatus = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]


@dataclass
class FalJob:
    id: str
    endpoint: str
    app_id: str
    base_url: str
    input: dict[str, Any]
    created: float
    duration: float
    seed: int
    images: list[dict[str, Any]]
    error_status: int | None = None
    error_message: str | None = None
    cancelled: bool = False
    logs: list[dict[str, str]] = field(default_factory=list)

    def status(self, now: float | None = None) -> QueueStatus:
        if self.cancelled:
            return "COMPLETED"
        now = time.monotonic() if now is None else now
        if now < self.created + self.duration / 3:
            return "IN_QUEUE"
        if now < self.created + self.duration:
            return "IN_PROGRESS"
        return "COMPLETED"

    def urls(self) -> dict[str, str]:
        root = f"{self.base_url}/fal/{self.app_id}/requests/{self.id}"
        return {
            "response_url": root,
            "status_url": f"{root}/status",
            "cancel_url": f"{root}/cancel",
        }

    def error(self) -> str | None:
        return "Request was cancelled" if self.cancelled else self.error_message

    def result(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "timings": {"inference": round(self.duration, 3)},
            "seed": self.seed,
            "has_nsfw_concepts": [False] * len(self.images),
            "prompt": self.input.get("prompt"),
        }


def _app_id(model_id: str) -> str:
    """fal's status/result URLs name the app (`owner/name`), not the endpoint's subpath."""
    parts = model_id.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else model_id


def _job(state: StandinState, request_id: str) -> FalJob | None:
    return state.fal_jobs.get(request_id)


def _not_found() -> JSONResponse:
    return JSONResponse({"detail": "Request not found"}, status_code=404)


@router.get("/{model_id:path}/requests/{request_id}/status")
async def status(model_id: str, request_id: str, request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "fal", state.knobs.config.require_key):
        return unauthorized("fal")
    job = _job(state, request_id)
    if job is None:
        return _not_found()
    failure = state.knobs.take_failure("fal", job.endpoint, stage="poll")
    if failure is not None and failure.kind == "status":
        return injected_error("fal", failure)
    now = time.monotonic()
    current = job.status(now)
    body: dict[str, Any] = {"status": current, "request_id": job.id, **job.urls()}
    if current == "IN_QUEUE":
        body["queue_position"] = sum(
            1
            for other in state.fal_jobs.values()
            if other.created < job.created and other.status(now) == "IN_QUEUE"
        )
    wants_logs = request.query_params.get("logs") in ("1", "true")
    body["logs"] = job.logs if wants_logs and current != "IN_QUEUE" else None
    if current == "COMPLETED":
        body["metrics"] = {"inference_time": round(job.duration, 3)}
        if job.error() is not None:
            body["error"] = job.error()
            body["error_type"] = "standin_injected" if not job.cancelled else "cancelled"
    return json_answer(body, status_code=200 if current == "COMPLETED" else 202, failure=failure)


@router.put("/{model_id:path}/requests/{request_id}/cancel")
async def cancel(model_id: str, request_id: str, request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "fal", state.knobs.config.require_key):
        return unauthorized("fal")
    job = _job(state, request_id)
    if job is None:
        return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
    if job.status() == "COMPLETED":
        return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
    job.cancelled = True
    return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)


@router.get("/{model_id:path}/requests/{request_id}")
async def result(model_id: str, request_id: str, request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "fal", state.knobs.config.require_key):
        return unauthorized("fal")
    job = _job(state, request_id)
    if job is None:
        return _not_found()
    failure = state.knobs.take_failure("fal", job.endpoint, stage="poll")
    if failure is not None and failure.kind == "status":
        return injected_error("fal", failure)
    if job.status() != "COMPLETED":
        return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
    if job.cancelled:
        return JSONResponse({"detail": "Request was cancelled"}, status_code=400)
    if job.error_status is not None:
        return JSONResponse({"detail": job.error_message}, status_code=job.error_status)
    return json_answer(job.result(), failure=failure, headers={"x-fal-request-id": job.id})


@router.post("/{model_id:path}")
async def submit(model_id: str, request: Request) -> Response:
    state = state_of(request)
    config = state.knobs.config
    body = await json_body(request)
    entry = state.record(request, "fal", model_id, body)
    if not key_accepted(request, "fal", config.require_key):
        entry["outcome"] = "unauthorized"
        return unauthorized("fal")
    if not isinstance(body, dict) or not isinstance(body.get("prompt"), str) or not body["prompt"]:
        entry["outcome"] = "invalid"
        return error_response(
            "fal",
            422,
            "STAND-IN: `prompt` is required",
            extra={
                "detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}]
            },
        )
    failure = state.knobs.take_failure(
        "fal", model_id, kinds=("status", "stall", "cut", "job_error")
    )
    if failure is not None:
        entry["outcome"] = failure.describe()
        if failure.kind == "status":
            return injected_error("fal", failure)
    job = _new_job(state, request, model_id, body)
    if failure is not None and failure.kind == "job_error":
        job.error_status = failure.status
        job.error_message = failure.message or f"STAND-IN injected job error ({failure.status})"
    state.fal_jobs[job.id] = job
    webhook = request.query_params.get("fal_webhook")
    if webhook and config.webhooks:
        state.spawn(_notify(state, job, webhook))
    queued = {"request_id": job.id, **job.urls(), "queue_position": 0}
    return json_answer(queued, failure=failure)


def _new_job(state: StandinState, request: Request, model_id: str, body: dict[str, Any]) -> FalJob:
    config = state.knobs.config
    job_id = str(uuid.uuid4())
    prompt = str(body["prompt"])
    seed = body["seed"] if isinstance(body.get("seed"), int) else prompt_seed(prompt)
    width, height = fal_image_size(body.get("image_size"), config.image_size)
    note = f"fal {model_id}"
    if body.get("image_url"):
        note += f" - i2i strength {body.get('strength', 'default')}"
    base = state.base_url(request)
    images = []
    for n in range(image_count(body.get("num_images"))):
        name = state.files.add(
            f"{job_id}-{n}.png",
            ImageSpec(prompt, width, height, seed + n, config.image_pad_bytes, note),
        )
        images.append(
            {
                "url": f"{base}/files/{name}",
                "width": width,
                "height": height,
                "content_type": "image/png",
                "file_name": name,
            }
        )
    stamp = datetime.now(UTC).isoformat()
    return FalJob(
        id=job_id,
        endpoint=model_id,
        app_id=_app_id(model_id),
        base_url=base,
        input=body,
        created=time.monotonic(),
        duration=config.image_job_ms / 1000,
        seed=seed,
        images=images,
        logs=[
            {
                "message": "STAND-IN: generating",
                "level": "INFO",
                "source": "user",
                "timestamp": stamp,
            }
        ],
    )


async def _notify(state: StandinState, job: FalJob, url: str) -> None:
    await asyncio.sleep(job.duration)
    if job.cancelled:
        return
    body: dict[str, Any] = {"request_id": job.id, "gateway_request_id": job.id}
    if job.error_status is not None:
        body.update(
            status="ERROR",
            error=f"Invalid status code: {job.error_status}",
            payload={"detail": job.error_message},
        )
    else:
        body.update(status="OK", payload=job.result())
    await webhooks.deliver(state, "fal", url, body)
