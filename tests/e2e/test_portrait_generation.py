"""Portrait generation through the whole system: `POST /v1/characters/{id}/portrait/generate`
runs as a scene job without a conversation (durable, cancellable, followed by `GET
/v1/jobs/{id}`), through the stand-in, counted by usage; the gateway makes the image the
character's portrait, and a job that fails or is cancelled leaves the old one."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import httpx
from PIL import Image

from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_scenes import wait_job
from tests.e2e.test_usage import eventually


def png(colour: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


async def new_character(user: User, **fields: Any) -> dict[str, Any]:
    body = {"name": "Wren", "role": "ai", **fields}
    created = await user.client.post("/v1/characters", json=body)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def portrait_bytes(user: User, character_id: str) -> bytes | None:
    answer = await user.client.get(f"/v1/characters/{character_id}/portrait")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 307, answer.text
    async with httpx.AsyncClient() as plain:
        image = await plain.get(answer.headers["location"])
    image.raise_for_status()
    return image.content


async def generate(user: User, character_id: str, **body: Any) -> dict[str, Any]:
    answer = await user.client.post(f"/v1/characters/{character_id}/portrait/generate", json=body)
    assert answer.status_code == 202, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def portrait_requests(stack: Stack, name: str) -> list[dict[str, Any]]:
    return [
        r
        for r in await stack.standin_requests()
        if r["path"].startswith("/fal/")
        and "character portrait" in str(r["body"].get("prompt"))
        and name in str(r["body"].get("prompt"))
    ]


async def test_a_generated_portrait_becomes_the_characters_portrait(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    name = f"Wren{uuid.uuid4().hex[:6]}"
    character = await new_character(
        user,
        name=name,
        appearance_tags=["silver hair", "green eyes"],
        description="{{char}} is a lighthouse keeper. She talks to {{user}} about storms.",
        consistency_method="seed_locked",
    )
    uploaded = await user.client.post(
        f"/v1/characters/{character['id']}/portrait", files={"file": ("w.png", png(), "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    before = await portrait_bytes(user, character["id"])

    accepted = await generate(user, character["id"])
    assert accepted["job_url"] == f"/v1/jobs/{accepted['job_id']}"
    done = await wait_job(user, accepted["job_id"])
    assert done["status"] == "completed", done
    assert done["purpose"] == "portrait" and done["conversation_id"] is None
    assert done["character_id"] == character["id"] and done["progress"] == 1.0
    async with httpx.AsyncClient() as plain:
        generated = (await plain.get(done["result"]["image_url"])).content

    # `completed` once the image is the portrait: no waiting for the character after the job
    assert await portrait_bytes(user, character["id"]) == generated
    assert generated != before
    shown = (await user.client.get(f"/v1/characters/{character['id']}")).json()
    assert shown["image_url"] == f"/v1/characters/{character['id']}/portrait"
    # the image is no conversation's scene: nothing to keep in the library as one
    assert_error(await user.client.post(f"/v1/scenes/{done['scene_id']}/save"), 404)
    stranger: User = await new_user()
    assert_error(await stranger.client.get(f"/v1/jobs/{accepted['job_id']}"), 404)

    [sent] = await portrait_requests(stack, name)
    prompt = sent["body"]["prompt"]
    assert "silver hair, green eyes" in prompt and f"{name} is a lighthouse keeper" in prompt
    assert "{{" not in prompt and isinstance(sent["body"]["seed"], int)
    assert "image_url" not in sent["body"]  # the old portrait is no reference for the new one

    async def counted() -> list[dict[str, Any]]:
        usage = (await user.client.get("/v1/usage/me")).json()
        return [m for m in usage["by_model"] if m["request_type"] == "portrait"]

    [line] = await eventually(counted)
    assert line["requests"] == 1 and line["model"] == done["model"]
    await stack.standin_config()


async def test_a_failing_provider_fails_the_job_and_keeps_the_old_portrait(
    stack: Stack, new_user: Any
) -> None:
    user: User = await new_user()
    character = await new_character(user)
    uploaded = await user.client.post(
        f"/v1/characters/{character['id']}/portrait", files={"file": ("w.png", png(), "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    before = await portrait_bytes(user, character["id"])
    await stack.standin_config(
        image_job_ms=50, failures=[{"family": "fal", "kind": "status", "status": 503, "count": -1}]
    )
    accepted = await generate(user, character["id"], prompt="Wren at the helm, oil painting")
    failed = await wait_job(user, accepted["job_id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "provider_unavailable"
    assert failed["result"] is None

    async def failures_counted() -> bool:
        usage = (await user.client.get("/v1/usage/me")).json()
        return any(
            m["request_type"] == "portrait" and m["requests"] >= 2 for m in usage["by_model"]
        )

    assert await eventually(failures_counted)  # every attempt, on every route
    assert await portrait_bytes(user, character["id"]) == before
    assert (await user.client.get(f"/v1/characters/{character['id']}")).json()[
        "image_url"
    ] == uploaded.json()["image_url"]
    await stack.standin_config()


async def test_a_portrait_job_can_be_cancelled_and_changes_nothing(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=20_000)
    user: User = await new_user()
    character = await new_character(user)
    accepted = await generate(user, character["id"])
    await asyncio.sleep(0.3)
    cancelled = await user.client.post(f"/v1/jobs/{accepted['job_id']}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert (await wait_job(user, accepted["job_id"]))["status"] == "cancelled"
    assert await portrait_bytes(user, character["id"]) is None
    await stack.standin_config()


async def test_only_the_owner_may_generate_and_bad_input_is_refused(
    stack: Stack, new_user: Any
) -> None:
    owner: User = await new_user()
    other: User = await new_user()
    public = await new_character(owner, visibility="public")
    private = await new_character(owner)
    path = "/v1/characters/{}/portrait/generate"
    assert_error(await other.client.post(path.format(public["id"]), json={}), 403, "forbidden")
    assert_error(await other.client.post(path.format(private["id"]), json={}), 404)
    assert_error(await owner.client.post(path.format(uuid.uuid4()), json={}), 404)
    assert_error(
        await owner.client.post(path.format(private["id"]), json={"model": "no-such-model"}),
        422,
        "unknown_model",
    )
    assert_error(await owner.client.post(path.format(private["id"]), json={"prompt": ""}), 422)
    assert_error(
        await owner.client.post(path.format(private["id"]), json={"prompt": "a\u0000b"}), 422
    )
    assert_error(await other.client.get(f"/v1/jobs/{uuid.uuid4()}"), 404)


async def test_a_retry_with_the_same_idempotency_key_is_the_same_job(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    character = await new_character(user)
    path = f"/v1/characters/{character['id']}/portrait/generate"
    headers = {"Idempotency-Key": "portrait-1"}
    first = await user.client.post(path, json={}, headers=headers)
    again = await user.client.post(path, json={}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    assert (await wait_job(user, first.json()["job_id"]))["status"] == "completed"
    await stack.standin_config()
