"""Scene consistency through the whole system: a character's method and portrait reach the
provider, each mode runs on its catalog model, and i2i continues from a kept scene once its
workspace copy has expired (the scenes service learns of the library copy from its event)."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import asyncpg
from PIL import Image

from roleplay_common.settings import StorageSettings
from roleplay_common.storage import WORKSPACE_TEMP, ObjectStorage
from tests.conftest import IsolatedEnv
from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import start_conversation
from tests.e2e.test_scenes import request_scene, wait_job


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


async def fal_body(stack: Stack, prompt: str) -> dict[str, Any]:
    sent = [
        r
        for r in await stack.standin_requests()
        if r["path"].startswith("/fal/") and prompt in str(r["body"].get("prompt", ""))
    ]
    assert len(sent) == 1, sent
    return sent[0]


async def test_a_hybrid_characters_portrait_and_seed_reach_the_provider_per_mode(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    created = await user.client.post(
        "/v1/characters",
        json={"name": "Wren", "role": "ai", "consistency_method": "hybrid"},
    )
    assert created.status_code == 201, created.text
    character = created.json()
    uploaded = await user.client.post(
        f"/v1/characters/{character['id']}/portrait", files={"file": ("w.png", png(), "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    conversation = await start_conversation(user, uuid.UUID(character["id"]))

    first = await request_scene(user, conversation["id"], prompt="wren at the harbour")
    assert (await wait_job(user, first["job_id"]))["status"] == "completed"
    sent = await fal_body(stack, "wren at the harbour")
    assert sent["model"] == "standin-image"
    assert "portraits" in sent["body"]["image_url"] and isinstance(sent["body"]["seed"], int)

    second = await request_scene(user, conversation["id"], mode="i2i", prompt="wren sets sail")
    done = await wait_job(user, second["job_id"])
    assert done["status"] == "completed" and done["model"] == "standin-image-i2i", done
    continued = await fal_body(stack, "wren sets sail")
    urls = continued["body"]["image_urls"]
    assert first["scene_id"] in urls[0] and "portraits" in urls[1]
    assert continued["body"]["seed"] == sent["body"]["seed"]

    third = await request_scene(
        user,
        conversation["id"],
        mode="modification",
        prompt="wren at dusk",
        modification={"preset": "time_of_day", "intensity": 0.5},
    )
    assert (await wait_job(user, third["job_id"]))["model"] == "standin-image-edit"
    await stack.standin_config()


async def test_i2i_from_a_kept_scene_after_its_workspace_copy_expired(
    stack: Stack, new_user: Any, test_env: IsolatedEnv
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    conversation = await start_conversation(user)
    first = await request_scene(user, conversation["id"], prompt="the kept harbour")
    assert (await wait_job(user, first["job_id"]))["status"] == "completed"
    assert (await user.client.post(f"/v1/scenes/{first['scene_id']}/save")).status_code == 202

    database = await asyncpg.connect(test_env.database_url.replace("+asyncpg", ""))
    try:
        async with asyncio.timeout(20):  # the scenes service has read `library.asset.saved`
            while not (
                row := await database.fetchrow(
                    "select image_key, thumbnail_key, kept_key from scenes.scenes where id = $1",
                    uuid.UUID(first["scene_id"]),
                )
            )["kept_key"]:
                await asyncio.sleep(0.1)
    finally:
        await database.close()
    storage = ObjectStorage(StorageSettings())
    for key in (row["image_key"], row["thumbnail_key"]):  # what the expiry sweeper removes
        await storage.delete(WORKSPACE_TEMP, key)

    second = await request_scene(
        user,
        conversation["id"],
        mode="i2i",
        prompt="back to the harbour",
        previous_scene_id=first["scene_id"],
    )
    done = await wait_job(user, second["job_id"])
    assert done["status"] == "completed", done
    sent = await fal_body(stack, "back to the harbour")
    assert "user-library" in sent["body"]["image_url"]
    assert row["kept_key"] in sent["body"]["image_url"]
    await stack.standin_config()
