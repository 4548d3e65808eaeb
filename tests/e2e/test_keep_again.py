"""A scene whose library copy was deleted can be kept again: each save is its own command, and
the library keeps a scene once for as long as its copy exists."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.conftest import Stack, User
from tests.e2e.test_chat_turns import start_conversation
from tests.e2e.test_conversation_events import read_until
from tests.e2e.test_scenes import request_scene, wait_job
from tests.support.sse import Event


async def library_items(user: User) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await user.client.get("/v1/library")).json()["items"]
    return items


async def kept(user: User, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(20):
        while len(items := await library_items(user)) < count:
            await asyncio.sleep(0.1)
    return items


async def test_a_scene_deleted_from_the_library_can_be_kept_again(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=50)
    user: User = await new_user()
    conversation = await start_conversation(user)
    scene = await request_scene(user, conversation["id"], mode="t2i", prompt="a quiet harbour")
    assert (await wait_job(user, scene["job_id"]))["status"] == "completed"
    save = f"/v1/scenes/{scene['scene_id']}/save"

    assert (await user.client.post(save, headers={"Idempotency-Key": "first"})).status_code == 202
    [first] = await kept(user, 1)
    assert (await user.client.delete(f"/v1/library/{first['id']}")).status_code == 204
    assert await library_items(user) == []

    # A retry of the first save is that save again: nothing new.
    assert (await user.client.post(save, headers={"Idempotency-Key": "first"})).status_code == 202
    # A new save keeps the scene again, and a double click keeps it once.
    assert (await user.client.post(save)).status_code == 202
    assert (await user.client.post(save)).status_code == 202
    [second] = await kept(user, 1)
    assert second["id"] != first["id"]
    assert second["roleplay_metadata"]["scene_id"] == scene["scene_id"]

    # Both keeps reached the conversation's event stream.
    seen: list[Event] = []
    url = f"/v1/conversations/{conversation['id']}/events"
    async with user.client.stream("GET", url, params={"after": 0}) as response:
        reader = asyncio.create_task(read_until(response, {"never.sent"}, seen))
        async with asyncio.timeout(20):
            while sum(e.name == "library.saved" for e in seen) < 2:
                await asyncio.sleep(0.05)
        reader.cancel()
    saved = [e.data["asset_id"] for e in seen if e.name == "library.saved"]
    assert saved == [first["id"], second["id"]]
    assert len(await library_items(user)) == 1
