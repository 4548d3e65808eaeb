"""Replicate predictions: `POST /replicate/v1/models/{owner}/{name}/predictions` (or
`/replicate/v1/predictions` with `version`), `GET /replicate/v1/predictions/{id}` going
`starting` → `processing` → `succeeded` with `output` image URLs, and cancel."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roleplay_standin.images import render_png
from roleplay_standin.knobs import Knobs

router = APIRouter(prefix="/replicate/v1")


def _view(request: Request, prediction: dict[str, Any]) -> dict[str, Any]:
    elapsed = time.monotonic() - prediction["submitted"]
    duration = prediction["duration"]
    if prediction["status"] in ("canceled", "failed"):
        status = prediction["status"]
    elif elapsed < duration / 3:
        status = "starting"
    elif elapsed < duration:
        status = "processing"
    else:
        status = "failed" if prediction["fail"] else "succeeded"
    root = f"{request.app.state.public_url}/replicate/v1/predictions/{prediction['id']}"
    view = {
        "id": prediction["id"],
        "model": prediction["model"],
        "input": prediction["input"],
        "status": status,
        "urls": {"get": root, "cancel": f"{root}/cancel"},
        "output": None,
        "error": "injected failure" if status == "failed" else None,
        "logs": "",
    }
    if status == "succeeded":
        name = f"{prediction['id']}.png"
        if name not in request.app.state.files:
            knobs: Knobs = request.app.state.knobs
            request.app.state.files[name] = render_png(
                str(prediction["input"].get("prompt", "")), pad_to=knobs.config.image_pad_bytes
            )
        view["output"] = [f"{request.app.state.public_url}/files/{name}"]
    return view


@router.post("/models/{owner}/{name}/predictions")
@router.post("/predictions")
async def create(request: Request, owner: str = "", name: str = "") -> Response:
    knobs: Knobs = request.app.state.knobs
    body: dict[str, Any] = await request.json()
    model = f"{owner}/{name}" if owner else str(body.get("version", ""))
    if not isinstance(body.get("input"), dict) or not body["input"].get("prompt"):
        return JSONResponse({"detail": "input.prompt is required"}, status_code=422)
    request.app.state.requests.append({"path": request.url.path, "body": body})
    failure = knobs.take_failure("replicate", model)
    if failure is not None and failure.kind == "status" and failure.status in (429, 500, 503):
        return JSONResponse({"detail": "injected failure"}, status_code=failure.status)
    prediction = {
        "id": uuid.uuid4().hex,
        "model": model,
        "input": body["input"],
        "status": "starting",
        "submitted": time.monotonic(),
        "duration": knobs.config.image_job_ms / 1000,
        "fail": failure is not None,
    }
    request.app.state.predictions[prediction["id"]] = prediction
    return JSONResponse(_view(request, prediction), status_code=201)


@router.get("/predictions/{prediction_id}")
async def get(prediction_id: str, request: Request) -> Response:
    prediction = request.app.state.predictions.get(prediction_id)
    if prediction is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    return JSONResponse(_view(request, prediction))


@router.post("/predictions/{prediction_id}/cancel")
async def cancel(prediction_id: str, request: Request) -> Response:
    prediction = request.app.state.predictions.get(prediction_id)
    if prediction is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    prediction["status"] = "canceled"
    return JSONResponse(_view(request, prediction))
