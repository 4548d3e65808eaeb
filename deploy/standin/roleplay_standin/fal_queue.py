"""fal.ai queue API: submit → status → result, cancel, and the webhook when done.

Real fal: `POST https://queue.fal.run/{model_id}` answers `{request_id, status_url,
response_url, cancel_url}`; here the same shape under `/fal/{model_id}`. A job is
`IN_QUEUE`, then `IN_PROGRESS`, then `COMPLETED` after the `image_job_ms` knob; a `fal`
failure knob makes it end in error (status `ERROR` on the webhook, 500-shaped result).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roleplay_standin.images import render_png
from roleplay_standin.knobs import Knobs

router = APIRouter(prefix="/fal")
_deliveries: set[asyncio.Task[None]] = set()


@dataclass
class FalJob:
    id: str
    model: str
    input: dict[str, Any]
    submitted: float
    duration: float
    fail_status: int | None = None
    cancelled: bool = False
    webhook: str | None = None
    result: dict[str, Any] | None = field(default=None)

    def status(self) -> str:
        if self.cancelled:
            return "CANCELLED"
        elapsed = time.monotonic() - self.submitted
        if elapsed < self.duration / 3:
            return "IN_QUEUE"
        if elapsed < self.duration:
            return "IN_PROGRESS"
        return "COMPLETED"


def _urls(base: str, model: str, job_id: str) -> dict[str, str]:
    root = f"{base}/fal/{model}/requests/{job_id}"
    return {"status_url": f"{root}/status", "response_url": root, "cancel_url": f"{root}/cancel"}


def _result(request: Request, job: FalJob) -> dict[str, Any]:
    if job.result is None:
        knobs: Knobs = request.app.state.knobs
        size = job.input.get("image_size")
        width = height = knobs.config.image_size
        if isinstance(size, dict):
            width, height = int(size.get("width", width)), int(size.get("height", height))
        name = f"{job.id}.png"
        prompt = str(job.input.get("prompt", ""))
        request.app.state.files[name] = render_png(
            prompt, width, height, knobs.config.image_pad_bytes
        )
        job.result = {
            "images": [
                {
                    "url": f"{request.app.state.public_url}/files/{name}",
                    "width": width,
                    "height": height,
                    "content_type": "image/png",
                }
            ],
            "seed": abs(hash(prompt)) % 2**31,
            "prompt": prompt,
            "timings": {"inference": job.duration},
            "has_nsfw_concepts": [False],
        }
    return job.result


@router.post("/{model_id:path}/requests/{job_id}/status", include_in_schema=False)
@router.get("/{model_id:path}/requests/{job_id}/status")
async def status(model_id: str, job_id: str, request: Request) -> Response:
    job = request.app.state.fal_jobs.get(job_id)
    if job is None:
        return JSONResponse({"detail": "request not found"}, status_code=404)
    state = job.status()
    body: dict[str, Any] = {
        "status": state,
        "request_id": job_id,
        **_urls(request.app.state.public_url, model_id, job_id),
    }
    if state == "IN_QUEUE":
        body["queue_position"] = 0
    body["logs"] = (
        [{"message": "stand-in generating", "level": "INFO"}] if state != "IN_QUEUE" else []
    )
    return JSONResponse(body, status_code=202 if state != "COMPLETED" else 200)


@router.put("/{model_id:path}/requests/{job_id}/cancel")
async def cancel(model_id: str, job_id: str, request: Request) -> Response:
    job = request.app.state.fal_jobs.get(job_id)
    if job is None:
        return JSONResponse({"detail": "request not found"}, status_code=404)
    if job.status() == "COMPLETED":
        return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
    job.cancelled = True
    return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)


@router.get("/{model_id:path}/requests/{job_id}")
async def result(model_id: str, job_id: str, request: Request) -> Response:
    job = request.app.state.fal_jobs.get(job_id)
    if job is None:
        return JSONResponse({"detail": "request not found"}, status_code=404)
    if job.status() != "COMPLETED":
        return JSONResponse({"detail": "request is still in progress"}, status_code=400)
    if job.fail_status is not None:
        return JSONResponse({"detail": "injected failure"}, status_code=job.fail_status)
    return JSONResponse(_result(request, job))


@router.post("/{model_id:path}")
async def submit(model_id: str, request: Request) -> Response:
    knobs: Knobs = request.app.state.knobs
    try:
        body = await request.json()
    except ValueError:
        return JSONResponse({"detail": "body must be JSON"}, status_code=422)
    if not isinstance(body, dict) or not body.get("prompt"):
        return JSONResponse(
            {"detail": [{"loc": ["body", "prompt"], "msg": "required"}]}, status_code=422
        )
    request.app.state.requests.append({"path": f"/fal/{model_id}", "body": body})
    failure = knobs.take_failure("fal", model_id)
    if failure is not None and failure.kind == "status" and failure.status in (429, 503):
        headers = {"Retry-After": "1"} if failure.status == 429 else {}
        return JSONResponse(
            {"detail": "injected failure"}, status_code=failure.status, headers=headers
        )
    job = FalJob(
        id=str(uuid.uuid4()),
        model=model_id,
        input=body,
        submitted=time.monotonic(),
        duration=knobs.config.image_job_ms / 1000,
        fail_status=failure.status if failure is not None else None,
        webhook=request.query_params.get("fal_webhook"),
    )
    request.app.state.fal_jobs[job.id] = job
    if job.webhook and knobs.config.webhooks:
        task = asyncio.create_task(_deliver_webhook(request, job))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)
    return JSONResponse(
        {
            "request_id": job.id,
            "queue_position": 0,
            **_urls(request.app.state.public_url, model_id, job.id),
        }
    )


async def _deliver_webhook(request: Request, job: FalJob) -> None:
    await asyncio.sleep(job.duration)
    if job.cancelled or job.webhook is None:
        return
    if job.fail_status is not None:
        body: dict[str, Any] = {
            "request_id": job.id,
            "gateway_request_id": job.id,
            "status": "ERROR",
            "error": f"injected failure {job.fail_status}",
            "payload": None,
        }
    else:
        body = {
            "request_id": job.id,
            "gateway_request_id": job.id,
            "status": "OK",
            "payload": _result(request, job),
        }
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(3):
            try:
                if (await client.post(job.webhook, json=body)).is_success:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
