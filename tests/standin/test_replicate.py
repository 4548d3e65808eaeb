"""The stand-in's Replicate predictions: lifecycle, signed webhooks, cancel, failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from typing import Any

import httpx
from PIL import Image

from tests.standin.conftest import Delivery, WebhookReceiver
from tests.standin.control import configure, eventually, recorded

BASE = "/replicate/v1"


async def test_a_prediction_goes_starting_processing_succeeded(
    standin: httpx.AsyncClient,
) -> None:
    await configure(standin, image_job_ms=300)
    created = await standin.post(
        f"{BASE}/models/stand-in/sdxl/predictions",
        json={"input": {"prompt": "a fox", "width": 256, "height": 128}},
        headers={"Authorization": "Bearer r8-test"},
    )
    assert created.status_code == 201
    prediction = created.json()
    assert prediction["status"] == "starting" and prediction["output"] is None
    assert prediction["model"] == "stand-in/sdxl"
    assert set(prediction["urls"]) >= {"get", "cancel"}

    seen: set[str] = set()

    async def finished() -> dict[str, Any] | None:
        current: dict[str, Any] = (await standin.get(prediction["urls"]["get"])).json()
        seen.add(current["status"])
        return current if current["status"] == "succeeded" else None

    done = await eventually(finished)
    assert "processing" in seen
    assert done["completed_at"] and done["metrics"]["predict_time"] >= 0
    png = await standin.get(done["output"][0])
    assert Image.open(io.BytesIO(png.content)).size == (256, 128)
    sent = (await recorded(standin, family="replicate"))[-1]
    assert sent["path"] == f"{BASE}/models/stand-in/sdxl/predictions"
    assert sent["body"]["input"]["prompt"] == "a fox"


async def test_prefer_wait_answers_once_the_prediction_ends(standin: httpx.AsyncClient) -> None:
    await configure(standin, image_job_ms=150)
    created = await standin.post(
        f"{BASE}/predictions",
        json={"version": "stand-in/sdxl:abc123", "input": {"prompt": "x"}},
        headers={"Prefer": "wait=5"},
    )
    assert created.status_code == 201
    assert created.json()["status"] == "succeeded"
    assert created.json()["version"] == "abc123"


def _verify(delivery: Delivery, secret: str) -> None:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{delivery.headers['webhook-id']}.{delivery.headers['webhook-timestamp']}."
    expected = hmac.new(key, signed.encode() + delivery.body, hashlib.sha256).digest()
    assert delivery.headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


async def test_webhooks_follow_the_events_filter_and_are_signed(
    standin: httpx.AsyncClient, receiver: WebhookReceiver, receiver_url: str
) -> None:
    await configure(standin, image_job_ms=90)
    secret = (await standin.get(f"{BASE}/webhooks/default/secret")).json()["key"]
    await standin.post(
        f"{BASE}/models/stand-in/sdxl/predictions",
        json={
            "input": {"prompt": "x"},
            "webhook": f"{receiver_url}/replicate",
            "webhook_events_filter": ["start", "completed"],
        },
    )
    start, completed = await receiver.next(), await receiver.next()
    _verify(start, secret)
    _verify(completed, secret)
    assert json.loads(start.body)["status"] == "processing"
    assert json.loads(completed.body)["status"] == "succeeded"
    events = [d["event"] for d in (await standin.get("/_standin/webhooks")).json()]
    assert events == ["start", "completed"]


async def test_a_cancelled_prediction_says_so(
    standin: httpx.AsyncClient, receiver: WebhookReceiver, receiver_url: str
) -> None:
    await configure(standin, image_job_ms=10_000)
    prediction = (
        await standin.post(
            f"{BASE}/models/stand-in/sdxl/predictions",
            json={"input": {"prompt": "x"}, "webhook": receiver_url},
        )
    ).json()
    cancelled = await standin.post(prediction["urls"]["cancel"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "canceled"
    assert json.loads((await receiver.next()).body)["status"] == "canceled"
    assert (await standin.get(prediction["urls"]["get"])).json()["status"] == "canceled"


async def test_failures_refuse_or_fail_a_prediction(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        image_job_ms=0,
        failures=[
            {"family": "replicate", "model": "a/throttled", "status": 429},
            {"family": "replicate", "model": "a/broken", "kind": "job_error", "message": "OOM"},
        ],
    )
    throttled = await standin.post(
        f"{BASE}/models/a/throttled/predictions", json={"input": {"prompt": "x"}}
    )
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    assert throttled.json()["status"] == 429 and throttled.json()["detail"]
    broken = (
        await standin.post(f"{BASE}/models/a/broken/predictions", json={"input": {"prompt": "x"}})
    ).json()
    failed = (await standin.get(broken["urls"]["get"])).json()
    assert failed["status"] == "failed" and failed["error"] == "OOM"
    invalid = await standin.post(f"{BASE}/models/a/ok/predictions", json={"input": {}})
    assert invalid.status_code == 422
