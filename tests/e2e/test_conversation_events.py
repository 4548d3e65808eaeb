"""The conversation event stream: live, and resumable on any instance with nothing missed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import send_streaming, start_conversation
from tests.e2e.test_scenes import request_scene, wait_job
from tests.support.sse import Event, events


async def read_until(response: httpx.Response, names: set[str], seen: list[Event]) -> None:
    async for event in events(response):
        seen.append(event)
        names.discard(event.name)
        if not names:
            return


async def test_the_stream_shows_turns_and_scenes_and_resumes_without_loss(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(image_job_ms=100)
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    url = f"/v1/conversations/{conversation['id']}/events"
    assert_error(await other.client.get(url), 404)

    first: list[Event] = []
    async with user.client.stream("GET", url) as response:
        assert response.status_code == 200
        reader = asyncio.create_task(read_until(response, {"turn.completed"}, first))
        await send_streaming(user, conversation["id"], "Hello there")
        await asyncio.wait_for(reader, 20)
    names = [e.name for e in first]
    assert names.index("turn.started") < names.index("turn.completed")
    assert names.count("message.created") == 2
    last_seen = first[-1].id

    # While disconnected: a scene is generated and kept.
    scene = await request_scene(user, conversation["id"], prompt="lanterns on the water")
    assert (await wait_job(user, scene["job_id"]))["status"] == "completed"
    await user.client.post(f"/v1/scenes/{scene['scene_id']}/save")

    # Reconnect to the other gateway instance with Last-Event-ID.
    missed: list[Event] = []
    async with (
        httpx.AsyncClient(base_url=stack.gateway_b, headers=user.client.headers, timeout=30) as b,
        b.stream("GET", url, headers={"Last-Event-ID": str(last_seen)}) as response,
    ):
        await asyncio.wait_for(
            read_until(response, {"scene.queued", "scene.completed", "library.saved"}, missed),
            20,
        )
    ids = [int(e.id or 0) for e in missed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert min(ids) > int(last_seen or 0)
    completed = next(e for e in missed if e.name == "scene.completed")
    assert completed.data["scene_id"] == scene["scene_id"]
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(completed.data["image_url"])).status_code == 200

    # Replaying from the start gives the same events, in the same order.
    everything: list[Event] = []
    async with user.client.stream("GET", url, params={"after": 0}) as response:
        await asyncio.wait_for(read_until(response, {"library.saved"}, everything), 20)
    assert [e.id for e in everything] == [e.id for e in first + missed]
