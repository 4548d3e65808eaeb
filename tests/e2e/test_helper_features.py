"""The seed's helper features through the stand-in: enhance-prompt and character suggestions,
each one non-streamed model call with the usual fallback, counted by usage."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Stack, User
from tests.e2e.test_access_and_input import assert_error
from tests.e2e.test_chat_turns import send_streaming, start_conversation
from tests.e2e.test_usage import eventually


def chat_calls(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["body"] for r in requests if r.get("family") == "chat"]


async def usage_of(user: User, request_type: str, count: int) -> list[dict[str, Any]]:
    async def counted() -> list[dict[str, Any]] | None:
        body = (await user.client.get("/v1/usage/me")).json()
        rows = [row for row in body["by_model"] if row["request_type"] == request_type]
        return rows if sum(row["requests"] for row in rows) >= count else None

    rows: list[dict[str, Any]] = await eventually(counted)
    return rows


async def test_enhance_prompt_rewrites_a_prompt_in_the_light_of_the_conversation(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config()
    user: User = await new_user()
    other: User = await new_user()
    conversation = await start_conversation(user)
    await send_streaming(user, conversation["id"], "We light the lanterns on the pier.")
    await stack.standin_config()  # only the enhancement's call recorded from here

    enhanced = await user.client.post(
        "/v1/scenes/enhance-prompt",
        json={"prompt": "two figures on a pier", "conversation_id": conversation["id"]},
    )
    assert enhanced.status_code == 200, enhanced.text
    prompt = enhanced.json()["prompt"]
    assert prompt and prompt != "two figures on a pier"
    assert "(standin-roleplay)" in prompt  # the stand-in's reply, from the roleplay model
    [call] = chat_calls(await stack.standin_requests())
    assert call["stream"] is False
    system, asked = call["messages"]
    assert system["role"] == "system" and "image" in system["content"]
    assert "two figures on a pier" in asked["content"]
    assert "We light the lanterns on the pier." in asked["content"]

    plain = await user.client.post("/v1/scenes/enhance-prompt", json={"prompt": "a red door"})
    assert plain.status_code == 200 and plain.json()["prompt"]

    [row] = await usage_of(user, "prompt_enhancement", 2)
    assert row["model"] == "standin-roleplay" and row["tokens_out"] > 0

    assert_error(
        await other.client.post(
            "/v1/scenes/enhance-prompt",
            json={"prompt": "x", "conversation_id": conversation["id"]},
        ),
        404,
    )
    for bad in ({}, {"prompt": ""}, {"prompt": "x" * 4001}, {"prompt": "x", "model": "nope"}):
        assert_error(await user.client.post("/v1/scenes/enhance-prompt", json=bad), 422)


async def test_suggestions_fill_the_named_fields_with_fallback_and_are_counted(
    stack: Stack, new_user: Any
) -> None:
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
    fields = ["description", "first_message", "appearance_tags"]
    answered = await user.client.post(
        "/v1/characters/suggestions",
        json={"name": "Odile", "description": "a lighthouse keeper", "fields": fields},
    )
    assert answered.status_code == 200, answered.text
    suggestions = answered.json()["suggestions"]
    assert set(suggestions) == set(fields)
    assert isinstance(suggestions["description"], str) and suggestions["description"]
    assert isinstance(suggestions["appearance_tags"], list) and suggestions["appearance_tags"]
    assert "(standin-fallback)" in suggestions["first_message"]

    calls = chat_calls(await stack.standin_requests())
    assert [c["model"] for c in calls] == [
        "standin-roleplay",
        "standin-roleplay",
        "standin-fallback",
    ]
    schema = calls[-1]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == fields and schema["additionalProperties"] is False
    assert "Odile" in calls[-1]["messages"][-1]["content"]

    rows = await usage_of(user, "character_suggestions", 3)
    by_model = {row["model"]: row for row in rows}
    assert by_model["standin-roleplay"]["requests"] == 2
    assert by_model["standin-fallback"]["requests"] == 1

    for bad in (
        {"name": "Odile", "fields": []},
        {"name": "Odile", "fields": ["portrait"]},
        {"name": "Odile", "fields": ["content_rating"]},
        {"name": "Odile", "fields": ["persona", "persona"]},
        {"fields": ["persona"]},
        {"name": " ", "description": "", "fields": ["persona"]},
        {"name": "Odile"},
    ):
        assert_error(await user.client.post("/v1/characters/suggestions", json=bad), 422)


async def test_no_model_answering_is_a_503_and_the_attempts_are_counted(
    stack: Stack, new_user: Any
) -> None:
    await stack.standin_config(
        failures=[{"family": "chat", "kind": "status", "status": 500, "count": -1}]
    )
    user: User = await new_user()
    refused = await user.client.post("/v1/scenes/enhance-prompt", json={"prompt": "a red door"})
    assert_error(refused, 503, "model_unavailable")
    assert refused.headers["Retry-After"].isdigit()
    # Every model was tried (each after its retries), and each call counted.
    rows = await usage_of(user, "prompt_enhancement", 2)
    assert {row["model"] for row in rows} >= {"standin-roleplay", "standin-fallback"}
    await stack.standin_config()
