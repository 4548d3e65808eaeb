"""Scene images in a conversation: the continuity chain, keeping, ownership, failures."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from roleplay_common.storage import ObjectStorage
from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import send_streaming, start_conversation


async def wait_job(user: User, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Jobs finish asynchronously: follow the job until it ends."""
    async with asyncio.timeout(timeout):
        while True:
            job: dict[str, Any] = (await user.client.get(f"/v1/jobs/{job_id}")).json()
            if job["status"] in ("completed", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.1)


async def request_scene(user: User, conversation_id: str, **body: Any) -> dict[str, Any]:
    response = await user.client.post(f"/v1/conversations/{conversation_id}/scenes", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_t2i_then_i2i_then_modification_builds_a_chain(stack: Stack, new_user: Any) -> None:
    await stack.standin_config(image_job_ms=100)
    user: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "We watch the storm from the deck.")

    first = await request_scene(user, conversation["id"], mode="t2i")
    done = await wait_job(user, first["job_id"])
    assert done["status"] == "completed", done
    assert done["result"]["image_url"] and done["progress"] == 1.0
    narrative_calls = [
        r for r in await stack.standin_requests() if r["path"] == "/v1/chat/completions"
    ]
    assert "storm" in narrative_calls[-1]["body"]["messages"][-1]["content"]

    second = await request_scene(user, conversation["id"], mode="i2i", prompt="the storm breaks")
    assert (await wait_job(user, second["job_id"]))["status"] == "completed"
    third = await request_scene(
        user,
        conversation["id"],
        mode="modification",
        modification={"preset": "lighting", "intensity": 0.9},
    )
    assert (await wait_job(user, third["job_id"]))["status"] == "completed"

    fal = [r for r in await stack.standin_requests() if r["path"].startswith("/fal/")]
    assert "image_url" not in fal[-3]["body"]
    assert first["scene_id"] in fal[-2]["body"]["image_url"]
    assert second["scene_id"] in fal[-1]["body"]["image_url"]
    assert "strongly" in fal[-1]["body"]["prompt"] and fal[-1]["body"]["strength"] > 0.7
    assert "auburn braid" in fal[-1]["body"]["prompt"]  # the character's appearance

    scenes = (await user.client.get(f"/v1/conversations/{conversation['id']}/scenes")).json()[
        "items"
    ]
    chain = {s["id"]: s for s in scenes}
    assert chain[first["scene_id"]]["previous_scene_id"] is None
    assert chain[second["scene_id"]]["previous_scene_id"] == first["scene_id"]
    assert chain[third["scene_id"]]["previous_scene_id"] == second["scene_id"]
    assert [
        chain[s]["generation_mode"]
        for s in (first["scene_id"], second["scene_id"], third["scene_id"])
    ] == [
        "t2i",
        "i2i",
        "modification",
    ]
    async with httpx.AsyncClient() as plain:
        image = await plain.get(chain[third["scene_id"]]["image_url"])
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"


async def test_keeping_a_scene_copies_it_and_sets_the_dashboard_thumbnail(
    stack: Stack, new_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    scene = await request_scene(user, conversation["id"], mode="t2i", prompt="a quiet harbour")
    assert (await wait_job(user, scene["job_id"]))["status"] == "completed"

    async def no_bytes(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("keeping a scene must not read or write object bytes")

    # From here no process may move image bytes: keeping is a server-side copy.
    monkeypatch.setattr(ObjectStorage, "get", no_bytes)
    monkeypatch.setattr(ObjectStorage, "put", no_bytes)
    saved = await user.client.post(f"/v1/scenes/{scene['scene_id']}/save")
    assert saved.status_code == 202, saved.text

    async def kept() -> list[dict[str, Any]]:
        async with asyncio.timeout(20):
            while True:
                items: list[dict[str, Any]] = (
                    await user.client.get(
                        "/v1/library", params={"conversation_id": conversation["id"]}
                    )
                ).json()["items"]
                listed = (await user.client.get("/v1/conversations")).json()["items"]
                if items and listed[0]["last_scene_image_url"]:
                    return items
                await asyncio.sleep(0.1)

    items = await kept()
    monkeypatch.undo()
    asset = items[0]
    assert asset["roleplay_metadata"]["scene_id"] == scene["scene_id"]
    assert asset["roleplay_metadata"]["conversation_id"] == conversation["id"]
    async with httpx.AsyncClient() as plain:
        full = await plain.get(asset["image_url"])
        thumb = await plain.get(asset["thumbnail_url"])
    assert full.status_code == thumb.status_code == 200
    assert len(thumb.content) < len(full.content)

    # A second save of the same scene keeps nothing new.
    await user.client.post(f"/v1/scenes/{scene['scene_id']}/save")
    assert len((await user.client.get("/v1/library")).json()["items"]) == 1

    for method, path in [
        ("GET", f"/v1/jobs/{scene['job_id']}"),
        ("POST", f"/v1/jobs/{scene['job_id']}/cancel"),
        ("POST", f"/v1/scenes/{scene['scene_id']}/save"),
        ("GET", f"/v1/conversations/{conversation['id']}/scenes"),
        ("POST", f"/v1/conversations/{conversation['id']}/scenes"),
        ("DELETE", f"/v1/library/{asset['id']}"),
    ]:
        assert_error(await other.client.request(method, path, json={"mode": "t2i"}), 404)
    assert (await other.client.get("/v1/library")).json()["items"] == []

    assert (await user.client.delete(f"/v1/library/{asset['id']}")).status_code == 204
    assert (await user.client.get("/v1/library")).json()["items"] == []
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(asset["image_url"])).status_code == 404


async def test_a_failing_image_model_falls_back_and_a_permanent_failure_says_why(
    stack: Stack, new_user: Any
) -> None:
    user: User = await new_user()
    conversation = await start_conversation(user)
    await stack.standin_config(
        image_job_ms=50,
        failures=[
            {
                "family": "fal",
                "model": "standin-image",
                "kind": "status",
                "status": 503,
                "count": -1,
            }
        ],
    )
    scene = await request_scene(user, conversation["id"], mode="t2i", prompt="rain on the sails")
    done = await wait_job(user, scene["job_id"])
    assert done["status"] == "completed" and done["model"] == "standin-image-b"

    await stack.standin_config(
        image_job_ms=50, failures=[{"family": "fal", "kind": "status", "status": 503, "count": -1}]
    )
    failed = await wait_job(
        user, (await request_scene(user, conversation["id"], prompt="x"))["job_id"]
    )
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "provider_unavailable"
    await stack.standin_config()


async def test_a_job_can_be_cancelled(stack: Stack, new_user: Any) -> None:
    await stack.standin_config(image_job_ms=20_000)
    user: User = await new_user()
    conversation = await start_conversation(user)
    scene = await request_scene(user, conversation["id"], prompt="a long exposure")
    await asyncio.sleep(0.3)
    cancelled = await user.client.post(f"/v1/jobs/{scene['job_id']}/cancel")
    assert cancelled.status_code == 202
    done = await wait_job(user, scene["job_id"])
    assert done["status"] == "cancelled"
    await stack.standin_config()


async def test_results_arrive_by_webhook_through_the_gateway_or_by_polling(
    stack: Stack, new_user: Any
) -> None:
    user: User = await new_user()
    conversation = await start_conversation(user)
    # Long enough that the runner's first status poll, right after submitting (and a database
    # write), still finds the job running, and short of the stack's 1 s poll interval: the
    # webhook, not the next poll, brings the result.
    await stack.standin_config(image_job_ms=400)
    by_webhook = await wait_job(
        user, (await request_scene(user, conversation["id"], prompt="a"))["job_id"]
    )
    assert by_webhook["status"] == "completed" and by_webhook["delivered_by"] == "webhook"

    await stack.standin_config(image_job_ms=50, webhooks=False)
    by_polling = await wait_job(
        user, (await request_scene(user, conversation["id"], prompt="b"))["job_id"]
    )
    assert by_polling["status"] == "completed" and by_polling["delivered_by"] == "poll"
    await stack.standin_config()

    forged = await user.client.post(
        f"/v1/webhooks/fal/{by_webhook['id']}", params={"token": "0" * 64}, json={"status": "OK"}
    )
    assert_error(forged, 404)


async def test_a_conversation_can_keep_its_scenes_automatically(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    conversation = await start_conversation(user)
    patched = await user.client.patch(
        f"/v1/conversations/{conversation['id']}", json={"auto_keep_scenes": True}
    )
    assert patched.status_code == 200 and patched.json()["auto_keep_scenes"] is True
    scene = await request_scene(user, conversation["id"], prompt="gulls over the mast")
    assert (await wait_job(user, scene["job_id"]))["status"] == "completed"
    async with asyncio.timeout(20):
        while not (await user.client.get("/v1/library")).json()["items"]:
            await asyncio.sleep(0.1)
    items = (await user.client.get("/v1/library")).json()["items"]
    assert items[0]["roleplay_metadata"]["scene_id"] == scene["scene_id"]


async def test_replicate_and_openai_images_providers_speak_their_protocols(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient
) -> None:
    await stack.standin_config(image_job_ms=50)
    suffix = uuid.uuid4().hex[:6]
    keys = {}
    for kind, base, model_name in (
        ("replicate", f"{stack.standin}/replicate/v1", "stand-in/sdxl"),
        ("openai_images", f"{stack.standin}/v1", "standin-dalle"),
    ):
        provider = await admin.post(
            "/v1/admin/providers",
            json={"name": f"{kind}-{suffix}".replace("_", "-"), "kind": kind, "base_url": base},
        )
        assert provider.status_code == 201, provider.text
        model = await admin.post(
            "/v1/admin/models",
            json={
                "key": f"{kind}-{suffix}",
                "provider_id": provider.json()["id"],
                "model_name": model_name,
                "modality": "image",
                "task": "t2i",
                "priority": 50,
                "is_active": True,
            },
        )
        assert model.status_code == 201, model.text
        keys[kind] = model.json()["key"]
    user: User = await new_user()
    conversation = await start_conversation(user)
    for kind, path in (
        ("replicate", "/replicate/v1/models/stand-in/sdxl/predictions"),
        ("openai_images", "/v1/images/generations"),
    ):
        scene = await request_scene(user, conversation["id"], prompt=f"by {kind}", model=keys[kind])
        done = await wait_job(user, scene["job_id"])
        assert done["status"] == "completed" and done["model"] == keys[kind], done
        sent = [r for r in await stack.standin_requests() if r["path"] == path]
        assert sent and f"by {kind}" in json.dumps(sent[-1]["body"])
    for model in (await admin.get("/v1/admin/models")).json()["items"]:
        if model["key"] in keys.values():
            await admin.patch(f"/v1/admin/models/{model['id']}", json={"is_active": False})


async def test_a_job_is_visible_as_queued_right_after_the_request(
    stack: Stack, new_user: Any
) -> None:
    user: User = await new_user()
    conversation = await start_conversation(user)
    scene = await request_scene(user, conversation["id"], prompt="right away")
    job = (await user.client.get(f"/v1/jobs/{scene['job_id']}")).json()
    assert job["status"] in ("queued", "processing", "completed")
    assert (await wait_job(user, scene["job_id"]))["status"] == "completed"
