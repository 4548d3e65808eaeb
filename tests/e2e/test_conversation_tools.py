"""Conversation tools through the public API: swipe texts, fork, sampler settings and the
author's note, continue that extends, impersonate, edit/delete events, chat export/import."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from roleplay_gateway.catalog.seed import DEMO_CHARACTER_ID
from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import (
    SSE,
    messages,
    send_streaming,
    start_conversation,
    text_of,
)
from tests.e2e.test_conversation_events import read_until
from tests.support.sse import Event, collect

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sillytavern"


def set_fields(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings a client set (unset ones read as null)."""
    return {k: v for k, v in settings.items() if v is not None}


def chat_requests(requests: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """Bodies of the stand-in's chat requests whose prompt mentions `marker`."""
    return [
        r["body"]
        for r in requests
        if r["body"].get("messages") and marker in json.dumps(r["body"]["messages"])
    ]


async def test_swipe_texts_are_readable_without_selecting(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    first = await send_streaming(user, conversation["id"], "Tell me of the sea")
    async with user.client.stream(
        "POST", f"/v1/conversations/{conversation['id']}/regenerate", headers=SSE
    ) as response:
        second = await collect(response)
    reply = (await messages(user, conversation["id"]))[-1]

    response = await user.client.get(f"/v1/messages/{reply['id']}/alternatives")
    assert response.status_code == 200, response.text
    swipes = response.json()
    assert [s["index"] for s in swipes] == [0, 1]
    assert [s["content"] for s in swipes] == [text_of(first), text_of(second)]
    assert all(s["model"] and s["created_at"] for s in swipes), swipes
    after = (await messages(user, conversation["id"]))[-1]
    assert after["selected_index"] == reply["selected_index"] == 1  # reading changed nothing

    greeting = (await messages(user, conversation["id"]))[0]
    greetings = (await user.client.get(f"/v1/messages/{greeting['id']}/alternatives")).json()
    assert len(greetings) == 3 and greetings[0]["content"] == greeting["content"]
    assert_error(await other.client.get(f"/v1/messages/{reply['id']}/alternatives"), 404)


async def test_a_fork_holds_the_history_up_to_the_message(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    await user.client.patch(
        f"/v1/conversations/{conversation['id']}", json={"settings": {"temperature": 0.3}}
    )
    await send_streaming(user, conversation["id"], "First question")
    await send_streaming(user, conversation["id"], "Second question")
    original = await messages(user, conversation["id"])
    assert len(original) == 5
    at = original[2]  # the first reply

    url = f"/v1/conversations/{conversation['id']}/fork"
    response = await user.client.post(url, json={"message_id": at["id"]})
    assert response.status_code == 201, response.text
    fork = response.json()
    assert fork["id"] != conversation["id"]
    assert fork["character_id"] == conversation["character_id"]
    assert fork["persona_id"] == conversation["persona_id"]
    assert set_fields(fork["settings"]) == {"temperature": 0.3}
    assert fork["last_message_preview"] == at["content"][:160]
    copied = await messages(user, fork["id"])
    assert [(m["sender"], m["content"]) for m in copied] == [
        (m["sender"], m["content"]) for m in original[:3]
    ]
    assert {m["id"] for m in copied}.isdisjoint({m["id"] for m in original})
    assert copied[0]["alternatives_count"] == 3
    assert len(await messages(user, conversation["id"])) == 5  # the original is untouched

    # The fork goes on by itself.
    seen = await send_streaming(user, fork["id"], "A different path")
    assert seen[-1].name == "turn.completed"
    assert len(await messages(user, fork["id"])) == 5
    assert len(await messages(user, conversation["id"])) == 5

    keyed = {"Idempotency-Key": "fork-1"}
    once = await user.client.post(url, json={"message_id": at["id"]}, headers=keyed)
    twice = await user.client.post(url, json={"message_id": at["id"]}, headers=keyed)
    assert once.status_code == twice.status_code == 201
    assert once.json()["id"] == twice.json()["id"] != fork["id"]
    assert len(await messages(user, once.json()["id"])) == 3

    assert_error(await other.client.post(url, json={"message_id": at["id"]}), 404)
    elsewhere = await start_conversation(user)
    stray = (await messages(user, elsewhere["id"]))[0]
    assert_error(await user.client.post(url, json={"message_id": stray["id"]}), 422)
    assert_error(await user.client.post(url, json={}), 422)


async def test_settings_reach_the_provider_and_the_authors_note_the_prompt(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    character = await user.client.post(
        "/v1/characters",
        json={
            "name": "Ilse",
            "role": "ai",
            "description": "A lighthouse keeper.",
            "settings": {"temperature": 1.1, "top_p": 0.5, "max_tokens": 200},
        },
    )
    assert character.status_code == 201, character.text
    assert set_fields(character.json()["settings"]) == {
        "temperature": 1.1,
        "top_p": 0.5,
        "max_tokens": 200,
    }
    character_id = character.json()["id"]
    conversation = (
        await user.client.post("/v1/conversations", json={"character_id": character_id})
    ).json()
    url = f"/v1/conversations/{conversation['id']}"
    response = await user.client.patch(
        url,
        json={
            "settings": {
                "temperature": 0.25,
                "stop": ["\nUser:", "###"],
                "author_note": "[Style: terse, salt-stained]",
                "author_note_depth": 1,
            }
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["temperature"] == 0.25
    assert (await user.client.get(url)).json()["settings"]["author_note_depth"] == 1

    await send_streaming(user, conversation["id"], "Light the lamp, Ilse")
    sent = chat_requests(await stack.standin_requests(), "Light the lamp, Ilse")[-1]
    assert sent["temperature"] == 0.25  # the conversation's, over the character's 1.1
    assert sent["top_p"] == 0.5  # the character's default
    assert sent["stop"] == ["\nUser:", "###"]
    assert sent["max_tokens"] <= 200
    contents = [m["content"] for m in sent["messages"]]
    note = contents.index("[Style: terse, salt-stained]")
    assert contents[note + 1] == "Light the lamp, Ilse"  # depth 1: before the newest message

    preview = (await user.client.get(f"{url}/prompt-preview")).json()
    assert any(
        b["kind"] == "author_note" and b["text"] == "[Style: terse, salt-stained]"
        for b in preview["blocks"]
    )

    # A null field falls back to the character's default; bad values are a 422.
    await user.client.patch(url, json={"settings": {"temperature": None}})
    await send_streaming(user, conversation["id"], "Again, Ilse")
    sent = chat_requests(await stack.standin_requests(), "Again, Ilse")[-1]
    assert sent["temperature"] == 1.1
    assert_error(await user.client.patch(url, json={"settings": {"temperature": 7}}), 422)
    assert_error(await user.client.patch(url, json={"settings": {"stop": ["a"] * 9}}), 422)
    assert_error(await user.client.patch(url, json={"settings": {"seed_of_doom": 1}}), 422)


async def test_continue_extends_the_last_reply(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "Go on then")
    before = (await messages(user, conversation["id"]))[-1]
    async with user.client.stream(
        "POST", f"/v1/conversations/{conversation['id']}/continue", headers=SSE
    ) as response:
        seen = await collect(response)
    assert seen[-1].name == "turn.completed"
    added = text_of(seen)
    assert added
    after = await messages(user, conversation["id"])
    assert len(after) == 3  # no new message
    assert after[-1]["id"] == before["id"]
    assert after[-1]["content"] == before["content"] + added
    assert seen[-1].data["message"]["content"] == before["content"] + added
    swipes = (await user.client.get(f"/v1/messages/{before['id']}/alternatives")).json()
    assert swipes[after[-1]["selected_index"]]["content"] == before["content"] + added
    listed = (await user.client.get(f"/v1/conversations/{conversation['id']}")).json()
    assert listed["last_message_preview"] == (before["content"] + added)[:160]


async def test_impersonate_streams_a_suggestion_and_stores_nothing(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    other: User = await new_user()
    persona = await user.client.post(
        "/v1/characters", json={"name": "Corin", "role": "user", "description": "A deckhand."}
    )
    conversation = (
        await user.client.post(
            "/v1/conversations",
            json={
                "character_id": str(DEMO_CHARACTER_ID),
                "persona_id": persona.json()["id"],
            },
        )
    ).json()
    before = await messages(user, conversation["id"])
    url = f"/v1/conversations/{conversation['id']}/impersonate"
    async with user.client.stream("POST", url, headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = await collect(response)
    assert seen[0].name == "turn.started" and seen[0].data["kind"] == "impersonate"
    deltas = [e for e in seen if e.name == "delta"]
    assert deltas and [e.data["seq"] for e in deltas] == list(range(1, len(deltas) + 1))
    assert seen[-1].name == "turn.completed"
    assert seen[-1].data["message"]["sender"] == "user"
    assert seen[-1].data["message"]["content"] == text_of(seen)
    assert await messages(user, conversation["id"]) == before

    prompt = chat_requests(await stack.standin_requests(), "Corin's next message")
    assert prompt, "the provider was asked for the persona's next message"
    assert_error(await other.client.post(url, headers=SSE), 404)


async def test_edit_and_delete_emit_events_and_update_the_preview(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "Something to edit")
    stored = await messages(user, conversation["id"])
    reply = stored[-1]

    feed: list[Event] = []
    async with user.client.stream(
        "GET", f"/v1/conversations/{conversation['id']}/events"
    ) as response:
        reader = asyncio.create_task(read_until(response, {"message.deleted"}, feed))
        edited = await user.client.patch(
            f"/v1/messages/{reply['id']}", json={"content": "An edited reply"}
        )
        assert edited.status_code == 200, edited.text
        listed = (await user.client.get(f"/v1/conversations/{conversation['id']}")).json()
        assert listed["last_message_preview"] == "An edited reply"
        deleted = await user.client.delete(f"/v1/messages/{reply['id']}")
        assert deleted.status_code == 204
        await asyncio.wait_for(reader, 20)

    names = [e.name for e in feed]
    assert names.index("message.edited") < names.index("message.deleted")
    edit = next(e for e in feed if e.name == "message.edited")
    assert edit.data["id"] == reply["id"] and edit.data["content"] == "An edited reply"
    gone = next(e for e in feed if e.name == "message.deleted")
    assert gone.data["id"] == reply["id"]
    assert gone.data["last_message_preview"] == "Something to edit"
    listed = (await user.client.get(f"/v1/conversations/{conversation['id']}")).json()
    assert listed["last_message_preview"] == "Something to edit"


async def test_chat_export_and_import_in_sillytavern_jsonl(stack: Stack, new_user: Any) -> None:
    await stack.standin_config()
    user: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "A line worth keeping")
    original = await messages(user, conversation["id"])

    response = await user.client.get(
        f"/v1/conversations/{conversation['id']}/export", params={"format": "jsonl"}
    )
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    header, rows = lines[0], lines[1:]
    assert header["character_name"] == "Captain Mira Vale"
    assert [r["mes"] for r in rows] == [m["content"] for m in original]
    assert [r["is_user"] for r in rows] == [False, True, False]
    assert len(rows[0]["swipes"]) == 3
    assert all({"name", "is_user", "mes", "send_date", "swipes"} <= set(r) for r in rows)

    imported = await user.client.post(
        "/v1/conversations/import",
        data={"character_id": conversation["character_id"]},
        files={"file": ("chat.jsonl", response.content, "application/jsonl")},
    )
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["character_id"] == conversation["character_id"]
    again = await messages(user, copy["id"])
    assert [(m["sender"], m["content"]) for m in again] == [
        (m["sender"], m["content"]) for m in original
    ]
    assert again[0]["alternatives_count"] == 3
    seen = await send_streaming(user, copy["id"], "And onwards")
    assert seen[-1].name == "turn.completed"


async def test_a_sillytavern_file_imports_and_bad_files_are_422(
    stack: Stack, new_user: Any
) -> None:
    user: User = await new_user()
    conversation = await start_conversation(user)
    character_id = conversation["character_id"]
    fixture = (FIXTURES / "seraphina_chat.jsonl").read_bytes()

    async def upload(data: bytes, **form: str) -> Any:
        return await user.client.post(
            "/v1/conversations/import",
            data={"character_id": character_id, **form},
            files={"file": ("chat.jsonl", data, "application/jsonl")},
        )

    response = await upload(fixture)
    assert response.status_code == 201, response.text
    keyed = {"Idempotency-Key": "import-1"}
    files = {"file": ("chat.jsonl", fixture, "application/jsonl")}
    form = {"character_id": character_id}
    first = await user.client.post(
        "/v1/conversations/import", data=form, files=files, headers=keyed
    )
    again = await user.client.post(
        "/v1/conversations/import", data=form, files=files, headers=keyed
    )
    assert first.json()["id"] == again.json()["id"] != response.json()["id"]
    stored = await messages(user, response.json()["id"])
    assert [m["sender"] for m in stored] == ["assistant", "user", "assistant"]  # system note out
    assert stored[2]["alternatives_count"] == 2 and stored[2]["selected_index"] == 1

    assert_error(await upload(b""), 422, "malformed_chat")
    assert_error(await upload(b'{"user_name":"A"}\nnot json\n'), 422, "malformed_chat")
    assert_error(await upload(b'{"user_name":"A"}\n{"is_user":true}\n'), 422, "malformed_chat")
    assert_error(await upload(b'{"user_name":"A"}\n[1,2]\n'), 422, "malformed_chat")
    long = json.dumps({"is_user": True, "mes": "x" * 16_001}).encode()
    assert_error(await upload(long), 422, "malformed_chat")
    many = b"\n".join([b'{"is_user":true,"mes":"hi"}'] * 10_002)
    assert_error(await upload(many), 422, "malformed_chat")
    assert_error(await upload(fixture, character_id="not-a-uuid"), 422)
    other: User = await new_user()
    private = await user.client.post("/v1/characters", json={"name": "Mine", "role": "ai"})
    response = await other.client.post(
        "/v1/conversations/import",
        data={"character_id": private.json()["id"]},
        files={"file": ("chat.jsonl", fixture, "application/jsonl")},
    )
    assert_error(response, 404)
