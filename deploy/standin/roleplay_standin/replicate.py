"""STAND-IN Replicate predictions API, under `/replicate/v1` (real: `https://api.replicate.com/v1`).

`POST /replicate/v1/models/{owner}/{name}/predictions` (or `POST /replicate/v1/predictions`
with a `version`) with `{input: {prompt, width?, height?, aspect_ratio?, num_outputs?, seed?,
image?, prompt_strength?}, webhook?, webhook_events_filter?}` answers 201 with the prediction
`{id, model, version, input, status: "starting", urls: {get, cancel, web}, output: null, …}`.
`GET /replicate/v1/predictions/{id}` shows it go `starting` (first third of `image_job_ms`) →
`processing` → `succeeded` with `output` a list of PNG URLs (or `failed` with `error` under a
`job_error` failure). `POST …/cancel` makes it `canceled`. `Prefer: wait[=n]` holds the
create answer until the prediction ends or n seconds (at most 60) pass.

Webhooks: the prediction object is POSTed to `webhook` on the events of
`webhook_events_filter` (`start`, `output`, `logs`, `completed`; default all), signed as
Replicate signs them (see `webhooks.py`; the secret is at `GET
/replicate/v1/webhooks/default/secret`).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
from roleplay_standin.images import (
    ImageSpec,
    image_count,
    prompt_seed,
    replicate_image_size,
)
from roleplay_standin.state import StandinState, state_of

router = APIRouter(prefix="/replicate/v1", tags=["Replicate predictions"])
EVENTS = ("start", "output", "logs", "completed")
TERMINAL = ("succeeded", "failed", "canceled")


@dataclass
class Prediction:
    id: str
    model: str
    version: str | None
    input: dict[str, Any]
    base_url: str
    created_at: datetime
    created: float
    duration: float
    outputs: list[str]
    webhook: str | None
    events: frozenset[str]
    error_message: str | None = None
    canceled_at: float | None = None

    def status(self, now: float | None = None) -> str:
        # Absolute times, so a moment computed as `created + duration` is exactly the end.
        now = time.monotonic() if now is None else now
        if self.canceled_at is not None and self.canceled_at <= now:
            return "canceled"
        if now < self.created + self.duration / 3:
            return "starting"
        if now < self.created + self.duration:
            return "processing"
        return "failed" if self.error_message else "succeeded"

    def view(self, now: float | None = None) -> dict[str, Any]:
        status = self.status(now)
        root = f"{self.base_url}/replicate/v1/predictions/{self.id}"
        view: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "version": self.version,
            "input": self.input,
            "logs": "" if status == "starting" else "STAND-IN: generating\n",
            "output": self.outputs if status == "succeeded" else None,
            "data_removed": False,
            "error": self.error_message if status == "failed" else None,
            "status": status,
            "created_at": _stamp(self.created_at),
            "urls": {"get": root, "cancel": f"{root}/cancel", "web": f"{root}/web"},
        }
        began = self.duration / 3
        ended = self.duration
        if status == "canceled" and self.canceled_at is not None:
            ended = self.canceled_at - self.created
        if status != "starting" and ended >= began:
            view["started_at"] = _stamp(self.created_at + timedelta(seconds=began))
        if status in TERMINAL:
            view["completed_at"] = _stamp(self.created_at + timedelta(seconds=ended))
            view["metrics"] = {
                "predict_time": round(max(ended - began, 0.0), 3),
                "total_time": round(ended, 3),
            }
        return view


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _not_found() -> JSONResponse:
    return error_response("replicate", 404, "The requested resource could not be found.")


@router.post("/models/{owner}/{name}/predictions")
async def create_for_model(owner: str, name: str, request: Request) -> Response:
    return await _create(request, f"{owner}/{name}", None)


@router.post("/predictions")
async def create(request: Request) -> Response:
    body = await json_body(request)
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, str) or not version:
        return await _create(request, None, None, body=body)
    model, _, digest = version.partition(":")
    return await _create(request, model if digest else version, digest or version, body=body)


async def _create(
    request: Request,
    model: str | None,
    version: str | None,
    *,
    body: Any = None,
) -> Response:
    state = state_of(request)
    config = state.knobs.config
    body = body if body is not None else await json_body(request)
    entry = state.record(request, "replicate", model, body)
    if not key_accepted(request, "replicate", config.require_key):
        entry["outcome"] = "unauthorized"
        return unauthorized("replicate")
    inputs = body.get("input") if isinstance(body, dict) else None
    problem = _invalid(model, inputs)
    if problem is not None:
        entry["outcome"] = "invalid"
        return error_response("replicate", 422, problem)
    assert isinstance(body, dict) and isinstance(inputs, dict) and model is not None
    failure = state.knobs.take_failure(
        "replicate", model, kinds=("status", "stall", "cut", "job_error")
    )
    if failure is not None:
        entry["outcome"] = failure.describe()
        if failure.kind == "status":
            return injected_error("replicate", failure)
    prediction = _new_prediction(state, request, model, version, body, inputs)
    if failure is not None and failure.kind == "job_error":
        prediction.error_message = failure.message or "STAND-IN injected prediction failure"
    state.predictions[prediction.id] = prediction
    if prediction.webhook and config.webhooks:
        state.spawn(_notify(state, prediction))
    wait = _prefer_wait(request.headers.get("prefer", ""))
    seen_at = None
    if wait:
        until = min(prediction.created + prediction.duration, time.monotonic() + wait)
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        seen_at = max(until, time.monotonic())  # the loop may wake a hair early
    return json_answer(prediction.view(seen_at), status_code=201, failure=failure)


def _invalid(model: str | None, inputs: Any) -> str | None:
    if model is None:
        return "- (root): version is required"
    if not isinstance(inputs, dict):
        return "- (root): input is required"
    if not isinstance(inputs.get("prompt"), str) or not inputs["prompt"]:
        return "- input: prompt is required"
    return None


def _prefer_wait(prefer: str) -> float:
    """`Prefer: wait` (60 s) or `Prefer: wait=n` (1-60 s); 0 when absent."""
    found = re.search(r"\bwait(?:=(\d+))?", prefer)
    if found is None:
        return 0.0
    return float(max(1, min(int(found.group(1) or 60), 60)))


def _new_prediction(
    state: StandinState,
    request: Request,
    model: str,
    version: str | None,
    body: dict[str, Any],
    inputs: dict[str, Any],
) -> Prediction:
    config = state.knobs.config
    prediction_id = uuid.uuid4().hex[:26]
    prompt = str(inputs["prompt"])
    seed = inputs["seed"] if isinstance(inputs.get("seed"), int) else prompt_seed(prompt)
    width, height = replicate_image_size(inputs, config.image_size)
    note = f"replicate {model}"
    if inputs.get("image"):
        note += f" - i2i prompt_strength {inputs.get('prompt_strength', 'default')}"
    base = state.base_url(request)
    outputs = [
        f"{base}/files/"
        + state.files.add(
            f"{prediction_id}-{n}.png",
            ImageSpec(prompt, width, height, seed + n, config.image_pad_bytes, note),
        )
        for n in range(image_count(inputs.get("num_outputs")))
    ]
    requested = body.get("webhook_events_filter")
    events = frozenset(requested) & frozenset(EVENTS) if isinstance(requested, list) else None
    webhook = body.get("webhook")
    return Prediction(
        id=prediction_id,
        model=model,
        version=version,
        input=inputs,
        base_url=base,
        created_at=datetime.now(UTC),
        created=time.monotonic(),
        duration=config.image_job_ms / 1000,
        outputs=outputs,
        webhook=webhook if isinstance(webhook, str) and webhook else None,
        events=events if events is not None else frozenset(EVENTS),
    )


@router.get("/predictions/{prediction_id}")
async def get(prediction_id: str, request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "replicate", state.knobs.config.require_key):
        return unauthorized("replicate")
    prediction = state.predictions.get(prediction_id)
    if prediction is None:
        return _not_found()
    failure = state.knobs.take_failure("replicate", prediction.model, stage="poll")
    if failure is not None and failure.kind == "status":
        return injected_error("replicate", failure)
    return json_answer(prediction.view(), failure=failure)


@router.post("/predictions/{prediction_id}/cancel")
async def cancel(prediction_id: str, request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "replicate", state.knobs.config.require_key):
        return unauthorized("replicate")
    prediction = state.predictions.get(prediction_id)
    if prediction is None:
        return _not_found()
    if prediction.status() not in TERMINAL:
        prediction.canceled_at = time.monotonic()
        if prediction.webhook and "completed" in prediction.events and state.knobs.config.webhooks:
            state.spawn(
                webhooks.deliver(
                    state, "replicate", prediction.webhook, prediction.view(), event="completed"
                )
            )
    return JSONResponse(prediction.view())


@router.get("/webhooks/default/secret")
async def webhook_secret(request: Request) -> Response:
    state = state_of(request)
    if not key_accepted(request, "replicate", state.knobs.config.require_key):
        return unauthorized("replicate")
    return JSONResponse({"key": webhooks.WEBHOOK_SECRET})


async def _notify(state: StandinState, prediction: Prediction) -> None:
    """Deliver the prediction's webhook events as its status moves on."""
    url = prediction.webhook
    assert url is not None

    async def until(offset: float) -> float | None:
        """Sleep until `offset` into the job; that moment, or None if it was cancelled.
        (The loop may wake a hair early, so the moment is not read from the clock.)"""
        moment = prediction.created + offset
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        moment = max(moment, time.monotonic())
        return None if prediction.status(moment) == "canceled" else moment

    started = await until(prediction.duration / 3)
    if started is None:
        return
    for event in ("start", "logs"):
        if event in prediction.events:
            await webhooks.deliver(state, "replicate", url, prediction.view(started), event=event)
    ended = await until(prediction.duration)
    if ended is None:
        return
    if "output" in prediction.events and prediction.status(ended) == "succeeded":
        await webhooks.deliver(state, "replicate", url, prediction.view(ended), event="output")
    if "completed" in prediction.events:
        await webhooks.deliver(state, "replicate", url, prediction.view(ended), event="completed")
