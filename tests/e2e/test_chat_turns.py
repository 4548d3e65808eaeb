"""Two-way chat through the public API: streaming, resume, swipes, idempotency, fallback."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from roleplay_gateway.catalog.seed import DEMO_CHARACTER_ID
from tests.e2e.conftest import Stack, User
from tests.support.sse import Event, collect, events

SSE = {"Accept": "text/event-stream"}


async def start_conversation(
    user: User, character_id: uuid.UUID = DEMO_CHARACTER_ID
) -> dict[str, Any]:
    response = await user.client.post("/v1/conversations", json={"character_id": str(character_id)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def send_streaming(
    user: User, conversation_id: str, content: str, **extra: Any
) -> list[Event]:
    async with user.client.stream(
        "POST",
        f"/v1/conversations/{conversation_id}/messages",
        json={"content": content, **extra},
        headers=SSE,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return await collect(response)


def text_of(seen: list[Event]) -> str:
    return "".join(e.data["text"] for e in seen if e.name == "delta")


async def messages(user: User, conversation_id: str) -> list[dict[str, Any]]:
    response = await user.client.get(f"/v1/conversations/{conversation_id}/messages")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_conversation_opens_with_the_greeting_and_a_reply_streams_in_order(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    opening = await messages(user, conversation["id"])
    assert [m["sender"] for m in opening] == ["assistant"]
    assert opening[0]["content"].startswith("*The deck lurches")
    assert opening[0]["alternatives_count"] == 3  # first message + two alternate greetings

    seen = await send_streaming(user, conversation["id"], "Who are you?")
    assert seen[0].name == "turn.started" and seen[0].id == "0"
    deltas = [e for e in seen if e.name == "delta"]
    assert [e.data["seq"] for e in deltas] == list(range(1, len(deltas) + 1))
    assert [e.id for e in deltas] == [str(n) for n in range(1, len(deltas) + 1)]
    completed = seen[-1]
    assert completed.name == "turn.completed" and completed.id == str(len(deltas) + 1)
    assert text_of(seen) == completed.data["message"]["content"]
    assert completed.data["usage"]["tokens_out"] > 0

    stored = await messages(user, conversation["id"])
    assert [m["sender"] for m in stored] == ["assistant", "user", "assistant"]
    assert stored[1]["content"] == "Who are you?"
    assert stored[2]["content"] == text_of(seen)
    assert stored[1]["id"] == seen[0].data["user_message_id"]

    listed = (await user.client.get("/v1/conversations")).json()["items"]
    assert listed[0]["id"] == conversation["id"]
    assert listed[0]["character"]["name"] == "Captain Mira Vale"
    assert listed[0]["last_message_preview"] == text_of(seen)[:160]
    assert listed[0]["last_scene_image_url"] is None


async def test_a_stream_resumes_on_another_gateway_without_gap_or_duplicate(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(tokens_per_second=25, output_tokens=30)
    user: User = await new_user()
    conversation = await start_conversation(user)
    started = await user.client.post(
        f"/v1/conversations/{conversation['id']}/messages", json={"content": "Tell me a story"}
    )
    assert started.status_code == 202, started.text
    turn = started.json()
    assert turn["stream_url"] == f"/v1/turns/{turn['turn_id']}/stream"

    first: list[Event] = []
    async with user.client.stream("GET", turn["stream_url"]) as response:
        async for event in events(response):
            first.append(event)
            if event.name == "delta" and event.data["seq"] == 5:
                break
    assert first[-1].id == "5"

    async with httpx.AsyncClient(
        base_url=stack.gateway_b, headers=user.client.headers, timeout=30
    ) as other:
        async with other.stream(
            "GET", turn["stream_url"], headers={"Last-Event-ID": "5"}
        ) as response:
            assert response.status_code == 200
            rest = await collect(response)
        assert rest[0].id == "6"
        completed = rest[-1]
        assert completed.name == "turn.completed"
        assert text_of(first) + text_of(rest) == completed.data["message"]["content"]

        # After the end, `?after=` replays exactly the tail, on either instance.
        async with other.stream("GET", f"{turn['stream_url']}?after=28") as response:
            tail = await collect(response)
        assert [e.id for e in tail] == [str(n) for n in range(29, int(completed.id or 0) + 1)]


async def test_regenerate_adds_an_alternative_and_select_chooses_one(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    first = await send_streaming(user, conversation["id"], "Hello, captain.")
    async with user.client.stream(
        "POST",
        f"/v1/conversations/{conversation['id']}/regenerate",
        headers=SSE,
        json={"model": "standin-fallback"},
    ) as response:
        second = await collect(response)
    assert second[-1].name == "turn.completed"
    assert "(standin-fallback)" in text_of(second)

    stored = await messages(user, conversation["id"])
    assert len(stored) == 3
    reply = stored[-1]
    assert reply["alternatives_count"] == 2
    assert reply["content"] == text_of(second)

    selected = await user.client.post(
        f"/v1/messages/{reply['id']}/select", json={"alternative_index": 0}
    )
    assert selected.status_code == 200, selected.text
    assert selected.json()["content"] == text_of(first)
    bad = await user.client.post(
        f"/v1/messages/{reply['id']}/select", json={"alternative_index": 7}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_alternative"


async def test_continue_goes_on_without_user_input(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    greeting = (await messages(user, conversation["id"]))[0]
    async with user.client.stream(
        "POST", f"/v1/conversations/{conversation['id']}/continue", headers=SSE
    ) as response:
        seen = await collect(response)
    assert seen[-1].name == "turn.completed"
    stored = await messages(user, conversation["id"])
    # The newest reply (here the greeting) goes on: it grows, no message is added.
    assert [m["sender"] for m in stored] == ["assistant"]
    assert stored[0]["content"] == greeting["content"] + text_of(seen)


async def test_a_resent_message_is_one_message_and_one_turn(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    url = f"/v1/conversations/{conversation['id']}/messages"
    body = {"content": "Only once, please", "client_message_id": "c-1"}
    first = await user.client.post(url, json=body)
    second = await user.client.post(url, json=body)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    async with user.client.stream("GET", first.json()["stream_url"]) as response:
        seen = await collect(response)
    assert seen[-1].name == "turn.completed"
    third = await user.client.post(url, json=body, headers={"Idempotency-Key": "c-1"})
    assert third.json() == first.json()
    stored = await messages(user, conversation["id"])
    assert [m["sender"] for m in stored] == ["assistant", "user", "assistant"]
    assert stored[1]["id"] == first.json()["user_message_id"]


async def test_a_failing_model_falls_back_to_the_next(stack: Stack, new_user: Any) -> None:
    await stack.standin_config(
        failures=[
            {
                "family": "chat",
                "model": "standin-roleplay",
                "kind": "status",
                "status": 500,
                "count": -1,
            }
        ]
    )
    user: User = await new_user()
    conversation = await start_conversation(user)
    seen = await send_streaming(user, conversation["id"], "Are you there?")
    assert seen[-1].name == "turn.completed"
    assert "(standin-fallback)" in text_of(seen)
    assert seen[-1].data["usage"]["model"] == "standin-fallback"
    tried = [r["body"]["model"] for r in await stack.standin_requests()]
    assert tried == ["standin-roleplay", "standin-roleplay", "standin-fallback"]


async def test_a_stalled_provider_times_out_and_the_turn_fails_clearly(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(
        failures=[{"family": "chat", "kind": "stall", "stall_seconds": 30, "count": -1}]
    )
    user: User = await new_user()
    conversation = await start_conversation(user)
    seen = await send_streaming(user, conversation["id"], "Hello?")
    assert seen[-1].name == "turn.failed"
    assert seen[-1].data["error"]["code"] == "provider_timeout"
    stored = await messages(user, conversation["id"])
    assert [m["sender"] for m in stored] == ["assistant", "user"]
    await stack.standin_config()


async def test_regenerate_after_a_failed_turn_answers_the_unanswered_message(
    stack: Stack, new_user: Any
) -> None:
    """The reply to "Where to?" failed: regenerate answers it (a new reply after it), and
    leaves the reply before it and its swipes alone."""
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "Hello, captain.")
    await stack.standin_config(
        failures=[{"family": "chat", "kind": "status", "status": 400, "count": -1}]
    )
    failed = await send_streaming(user, conversation["id"], "Where to?")
    assert failed[-1].name == "turn.failed"
    await stack.standin_config()
    async with user.client.stream(
        "POST", f"/v1/conversations/{conversation['id']}/regenerate", headers=SSE
    ) as response:
        answered = await collect(response)
    assert answered[-1].name == "turn.completed"

    stored = await messages(user, conversation["id"])
    assert [m["sender"] for m in stored] == ["assistant", "user", "assistant", "user", "assistant"]
    assert stored[2]["alternatives_count"] == 1  # the reply before it gained no swipe
    assert stored[3]["content"] == "Where to?"
    assert stored[4]["content"] == text_of(answered)
    sent = [r for r in await stack.standin_requests() if r["body"].get("messages")]
    assert sent[-1]["body"]["messages"][-1] == {"role": "user", "content": "Where to?"}


async def test_the_context_budget_keeps_the_newest_turns(
    stack: Stack, new_user: Any, admin: httpx.AsyncClient
) -> None:
    await stack.standin_config(output_tokens=40)
    user: User = await new_user()
    conversation = await start_conversation(user)
    for n in range(6):
        await send_streaming(user, conversation["id"], f"message number {n} " + "padding " * 60)
    models = (await admin.get("/v1/admin/models")).json()["items"]
    fallback = next(m for m in models if m["key"] == "standin-fallback")
    small = await admin.patch(f"/v1/admin/models/{fallback['id']}", json={"context_window": 700})
    assert small.status_code == 200, small.text
    try:
        await stack.standin_config(output_tokens=40)
        await send_streaming(
            user, conversation["id"], "the newest message", model="standin-fallback"
        )
        # The turn's request (memory, folding what the budget cut, may follow it).
        sent = next(
            r["body"]["messages"]
            for r in reversed(await stack.standin_requests())
            if r["body"]["messages"][-1]["content"] == "the newest message"
        )
    finally:
        await admin.patch(f"/v1/admin/models/{fallback['id']}", json={"context_window": 4096})
    contents = [m["content"] for m in sent]
    assert sent[0]["role"] == "system"
    assert contents[-1] == "the newest message"
    assert not any("message number 0" in c for c in contents)
    assert len(sent) < 14
