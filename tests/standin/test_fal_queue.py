"""The stand-in's fal.ai queue: submit → status → result, webhooks, cancel, failures."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
from PIL import Image

from tests.standin.conftest import WebhookReceiver
from tests.standin.control import configure, eventually, recorded

KEY = {"Authorization": "Key fal-test"}


async def test_a_job_goes_through_the_queue_to_a_real_png(standin: httpx.AsyncClient) -> None:
    await configure(standin, image_job_ms=300, require_key="fal-test")
    body = {
        "prompt": "a lighthouse in the rain",
        "image_size": {"width": 320, "height": 200},
        "seed": 42,
        "num_images": 2,
    }
    submitted = await standin.post("/fal/standin-image", json=body, headers=KEY)
    assert submitted.status_code == 200
    job = submitted.json()
    assert {"request_id", "status_url", "response_url", "cancel_url", "queue_position"} <= set(job)
    assert job["status_url"].endswith(f"/fal/standin-image/requests/{job['request_id']}/status")

    first = await standin.get(job["status_url"], headers=KEY)
    assert first.status_code == 202 and first.json()["status"] == "IN_QUEUE"
    assert first.json()["queue_position"] == 0
    early = await standin.get(job["response_url"], headers=KEY)
    assert early.status_code == 400

    async def status() -> dict[str, Any] | None:
        answer = await standin.get(job["status_url"], params={"logs": 1}, headers=KEY)
        seen: dict[str, Any] = answer.json()
        return seen if seen["status"] == "COMPLETED" else None

    done = await eventually(status)
    assert done["logs"] and "error" not in done

    result = (await standin.get(job["response_url"], headers=KEY)).json()
    assert result["seed"] == 42 and result["prompt"] == body["prompt"]
    assert result["has_nsfw_concepts"] == [False, False] and "inference" in result["timings"]
    assert len(result["images"]) == 2
    image = result["images"][0]
    assert image["content_type"] == "image/png"
    assert (image["width"], image["height"]) == (320, 200)
    png = await standin.get(image["url"])
    assert png.headers["content-type"] == "image/png"
    decoded = Image.open(io.BytesIO(png.content))
    decoded.load()
    assert decoded.format == "PNG" and decoded.size == (320, 200)

    sent = (await recorded(standin, family="fal"))[-1]
    assert sent["path"] == "/fal/standin-image" and sent["body"] == body
    assert sent["auth_scheme"] == "Key" and "authorization" not in sent["headers"]


async def test_the_key_must_use_fals_scheme(standin: httpx.AsyncClient) -> None:
    await configure(standin, require_key="fal-test")
    bearer = {"Authorization": "Bearer fal-test"}
    response = await standin.post("/fal/standin-image", json={"prompt": "x"}, headers=bearer)
    assert response.status_code == 401 and "detail" in response.json()


async def test_a_subpath_model_gets_urls_without_the_subpath(standin: httpx.AsyncClient) -> None:
    job = (await standin.post("/fal/fal-ai/flux/dev", json={"prompt": "x"})).json()
    assert f"/fal/fal-ai/flux/requests/{job['request_id']}" in job["response_url"]
    assert (await standin.get(job["status_url"])).status_code in (200, 202)
    assert (await recorded(standin))[-1]["model"] == "fal-ai/flux/dev"


async def test_the_webhook_gets_fals_body_when_done(
    standin: httpx.AsyncClient, receiver: WebhookReceiver, receiver_url: str
) -> None:
    await configure(standin, image_job_ms=100)
    hook = f"{receiver_url}/hooks/fal/job-1?token=abc"
    job = (
        await standin.post(
            "/fal/standin-image",
            params={"fal_webhook": hook},
            json={"prompt": "harbor", "image_url": "http://example.test/ref.png", "strength": 0.4},
        )
    ).json()
    delivery = await receiver.next()
    assert delivery.path == "/hooks/fal/job-1"
    assert delivery.headers["x-standin"] == "true"
    body = json.loads(delivery.body)
    assert body["status"] == "OK"
    assert body["request_id"] == body["gateway_request_id"] == job["request_id"]
    assert body["payload"]["images"][0]["url"].endswith(".png")
    assert body["payload"]["prompt"] == "harbor"
    sent = (await recorded(standin, family="fal"))[-1]
    assert sent["query"] == {"fal_webhook": hook}
    assert sent["body"]["image_url"] == "http://example.test/ref.png"


async def test_a_job_error_reaches_status_result_and_webhook(
    standin: httpx.AsyncClient, receiver: WebhookReceiver, receiver_url: str
) -> None:
    await configure(
        standin,
        image_job_ms=60,
        failures=[{"family": "fal", "model": "bad-model", "kind": "job_error", "status": 422}],
    )
    job = (
        await standin.post(
            "/fal/bad-model", params={"fal_webhook": receiver_url}, json={"prompt": "x"}
        )
    ).json()
    body = json.loads((await receiver.next()).body)
    assert body["status"] == "ERROR" and body["error"] and body["payload"]["detail"]
    status = (await standin.get(job["status_url"])).json()
    assert status["status"] == "COMPLETED" and status["error"]
    result = await standin.get(job["response_url"])
    assert result.status_code == 422 and "detail" in result.json()


async def test_a_webhook_is_retried_when_the_receiver_fails(
    standin: httpx.AsyncClient, receiver: WebhookReceiver, receiver_url: str
) -> None:
    await configure(standin, image_job_ms=0)
    receiver.fail_next = 1
    await standin.post(
        "/fal/standin-image", params={"fal_webhook": receiver_url}, json={"prompt": "x"}
    )
    assert json.loads((await receiver.next()).body)["status"] == "OK"

    async def delivered() -> dict[str, Any] | None:
        last: dict[str, Any] = (await standin.get("/_standin/webhooks")).json()[-1]
        return last if last["delivered"] else None

    assert (await eventually(delivered))["attempts"] == 2


async def test_a_queued_job_can_be_cancelled(standin: httpx.AsyncClient) -> None:
    await configure(standin, image_job_ms=10_000)
    job = (await standin.post("/fal/standin-image", json={"prompt": "x"})).json()
    cancelled = await standin.put(job["cancel_url"])
    assert cancelled.status_code == 202
    assert cancelled.json() == {"status": "CANCELLATION_REQUESTED"}
    status = (await standin.get(job["status_url"])).json()
    assert status["status"] == "COMPLETED" and status["error"] == "Request was cancelled"
    assert (await standin.get(job["response_url"])).status_code == 400
    again = await standin.put(job["cancel_url"])
    assert again.status_code == 400 and again.json() == {"status": "ALREADY_COMPLETED"}


async def test_a_failing_model_is_refused_at_submit_and_another_is_not(
    standin: httpx.AsyncClient,
) -> None:
    await configure(
        standin,
        failures=[{"family": "fal", "model": "standin-image", "status": 503, "count": -1}],
    )
    refused = await standin.post("/fal/standin-image", json={"prompt": "x"})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert (await standin.post("/fal/standin-image-b", json={"prompt": "x"})).status_code == 200
    missing = await standin.post("/fal/standin-image-b", json={"image_size": "square"})
    assert missing.status_code == 422


async def test_a_poll_failure_hits_status_reads_only(standin: httpx.AsyncClient) -> None:
    await configure(
        standin, failures=[{"family": "fal", "stage": "poll", "status": 500, "count": 1}]
    )
    job = (await standin.post("/fal/standin-image", json={"prompt": "x"})).json()
    assert (await standin.get(job["status_url"])).status_code == 500
    assert (await standin.get(job["status_url"])).status_code in (200, 202)
