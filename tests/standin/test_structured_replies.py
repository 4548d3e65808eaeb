"""The stand-in answers a `json_schema` response format with a JSON object of the schema."""

from __future__ import annotations

import json

import httpx

from tests.standin.control import configure

SCHEMA = {
    "type": "object",
    "properties": {"persona": {"type": "string"}, "tags": {"type": "array"}},
    "required": ["persona", "tags"],
    "additionalProperties": False,
}


async def test_a_schema_gets_an_object_of_its_properties(standin: httpx.AsyncClient) -> None:
    await configure(standin, first_token_ms=0, tokens_per_second=0)
    body = {
        "model": "standin-roleplay",
        "messages": [{"role": "user", "content": "Write Odile."}],
        "stream": False,
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}},
    }
    answer = (await standin.post("/v1/chat/completions", json=body)).json()
    content = json.loads(answer["choices"][0]["message"]["content"])
    assert set(content) == {"persona", "tags"}
    assert content["persona"].startswith("STAND-IN persona (standin-roleplay): ")
    assert len(content["tags"]) == 3 and all(isinstance(t, str) for t in content["tags"])
    assert answer["usage"]["completion_tokens"] >= 1

    plain = await standin.post("/v1/chat/completions", json={**body, "response_format": None})
    assert plain.json()["choices"][0]["message"]["content"].startswith("*")
