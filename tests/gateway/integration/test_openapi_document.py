"""The OpenAPI document describes every answer: a schema for each success, the contract's
error shape for each error status a route can give, and the events of each stream."""

from __future__ import annotations

from typing import Any

from tests.gateway.conftest import Gateway

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}
STREAMS = {
    ("/v1/turns/{turn_id}/stream", "get"): {
        "turn.started",
        "delta",
        "turn.restarted",
        "turn.completed",
        "turn.failed",
    },
    ("/v1/conversations/{conversation_id}/impersonate", "post"): {
        "turn.started",
        "delta",
        "turn.completed",
        "turn.failed",
    },
    ("/v1/conversations/{conversation_id}/events", "get"): {
        "message.created",
        "message.edited",
        "message.deleted",
        "turn.started",
        "turn.completed",
        "turn.failed",
        "scene.queued",
        "scene.progress",
        "scene.completed",
        "scene.failed",
        "library.saved",
        "memory.updated",
    },
}


async def _operations(gateway: Gateway) -> dict[tuple[str, str], dict[str, Any]]:
    document = (await gateway.client.get("/openapi.json")).json()
    return {
        (path, method): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


async def test_every_success_has_a_schema_and_every_error_the_contract_shape(
    gateway: Gateway,
) -> None:
    operations = await _operations(gateway)
    assert len(operations) >= 60
    for (path, method), operation in operations.items():
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith("2") and status != "204":
                assert content, (path, method, status)
                for media_type, entry in content.items():
                    assert "schema" in entry or "itemSchema" in entry, (path, method, media_type)
            if status.startswith("4") or (status == "503" and path.startswith("/v1/")):
                assert content["application/json"]["schema"] == ERROR, (path, method, status)
        if path.startswith("/v1/") and not path.startswith(("/v1/auth/", "/v1/webhooks/")):
            assert {"401", "429", "503"} <= set(operation["responses"]), (path, method)
        if path.startswith("/v1/admin/"):
            assert "403" in operation["responses"], (path, method)
        if "{" in path:
            assert "404" in operation["responses"], (path, method)


async def test_validation_errors_are_documented_as_they_are_answered(gateway: Gateway) -> None:
    document = (await gateway.client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    register = document["paths"]["/v1/auth/register"]["post"]["responses"]["422"]
    assert register["content"]["application/json"]["schema"] == ERROR
    answered = await gateway.client.post("/v1/auth/register", json={"email": "nope"})
    assert answered.status_code == 422
    assert set(answered.json()) == {"error"}
    assert answered.json()["error"]["code"] == "validation_error"


async def test_streams_document_their_events(gateway: Gateway) -> None:
    operations = await _operations(gateway)
    for key, names in STREAMS.items():
        content = operations[key]["responses"]["200"]["content"]
        assert set(content) == {"text/event-stream"}, key
        items = content["text/event-stream"]["itemSchema"]["oneOf"]
        assert {item["properties"]["event"]["const"] for item in items} == names, key
    starting = operations[("/v1/conversations/{conversation_id}/messages", "post")]["responses"]
    assert "text/event-stream" in starting["200"]["content"]
    accepted = starting["202"]["content"]["application/json"]["schema"]
    assert accepted == {"$ref": "#/components/schemas/TurnAccepted"}
