"""The stand-in's OpenAI-compatible chat: chunk shapes, usage, pacing, auth, and every
injected failure a chat adapter must survive."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.standin.control import configure, recorded, sse_chunks, sse_data

MESSAGES = [
    {"role": "system", "content": "You are a sea captain."},
    {"role": "user", "content": "Where are we headed tonight?"},
]


def chat(model: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MESSAGES, "stream": stream, **extra}


async def test_a_stream_has_openai_chunks_usage_and_done(standin: httpx.AsyncClient) -> None:
    await configure(standin, output_tokens=12, first_token_ms=0, tokens_per_second=0)
    response = await standin.post(
        "/v1/chat/completions",
        json=chat("standin-roleplay", stream_options={"include_usage": True}),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-standin"] == "true"
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = sse_chunks(response.text)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    first, *content, final, usage_chunk = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert first["usage"] is None  # include_usage: every chunk but the last says null
    assert all(c["choices"][0]["finish_reason"] is None for c in content)
    assert len(content) == 12
    text = "".join(c["choices"][0]["delta"]["content"] for c in content)
    assert "(standin-roleplay)" in text
    assert final["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert usage_chunk["choices"] == []
    assert final["usage"] == usage_chunk["usage"]
    prompt_tokens = sum(len(m["content"]) // 4 + 4 for m in MESSAGES)
    assert usage_chunk["usage"] == {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": 12,
        "total_tokens": prompt_tokens + 12,
    }


async def test_without_include_usage_the_final_chunk_still_carries_usage(
    standin: httpx.AsyncClient,
) -> None:
    await configure(standin, output_tokens=4, first_token_ms=0, tokens_per_second=0)
    response = await standin.post("/v1/chat/completions", json=chat("m"))
    chunks = sse_chunks(response.text)
    assert "usage" not in chunks[0]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 4


async def test_a_plain_completion_is_deterministic_and_names_its_model(
    standin: httpx.AsyncClient,
) -> None:
    await configure(standin, output_tokens=20, first_token_ms=0, tokens_per_second=0)
    first = (await standin.post("/v1/chat/completions", json=chat("a", stream=False))).json()
    again = (await standin.post("/v1/chat/completions", json=chat("a", stream=False))).json()
    other = (await standin.post("/v1/chat/completions", json=chat("b", stream=False))).json()
    assert first["object"] == "chat.completion"
    message = first["choices"][0]["message"]
    assert message["role"] == "assistant" and "(a)" in message["content"]
    assert message["content"] == again["choices"][0]["message"]["content"]
    assert "(b)" in other["choices"][0]["message"]["content"]
    assert first["choices"][0]["finish_reason"] == "stop"
    assert first["usage"]["completion_tokens"] == 20
    assert first["usage"]["total_tokens"] == first["usage"]["prompt_tokens"] + 20


async def test_max_tokens_shortens_the_reply(standin: httpx.AsyncClient) -> None:
    await configure(standin, output_tokens=40, first_token_ms=0, tokens_per_second=0)
    body = chat("m", stream=False, max_tokens=5)
    answer = (await standin.post("/v1/chat/completions", json=body)).json()
    assert answer["usage"]["completion_tokens"] == 5
    assert answer["choices"][0]["finish_reason"] == "length"


async def test_tokens_are_paced_by_the_token_rate(standin: httpx.AsyncClient) -> None:
    await configure(standin, output_tokens=10, first_token_ms=100, tokens_per_second=50)
    started = time.monotonic()
    response = await standin.post("/v1/chat/completions", json=chat("m"))
    elapsed = time.monotonic() - started
    assert sse_data(response.text)[-1] == "[DONE]"
    assert 0.1 + 9 / 50 <= elapsed < 2.0


async def test_a_failure_scoped_to_one_model_leaves_the_others_answering(
    standin: httpx.AsyncClient,
) -> None:
    await configure(
        standin,
        first_token_ms=0,
        tokens_per_second=0,
        failures=[{"family": "chat", "model": "model-a", "status": 500, "count": -1}],
    )
    for _ in range(2):
        failed = await standin.post("/v1/chat/completions", json=chat("model-a"))
        assert failed.status_code == 500
        error = failed.json()["error"]
        assert {"message", "type", "code"} <= set(error) and error["type"] == "server_error"
    fallback = await standin.post("/v1/chat/completions", json=chat("model-b"))
    assert fallback.status_code == 200 and "(model-b)" in fallback.text
    seen = await recorded(standin, family="chat")
    assert [(r["model"], r["outcome"]) for r in seen] == [
        ("model-a", "status 500"),
        ("model-a", "status 500"),
        ("model-b", "ok"),
    ]


async def test_a_429_says_when_to_retry_and_counts_down(standin: httpx.AsyncClient) -> None:
    await configure(standin, first_token_ms=0, tokens_per_second=0)
    added = await standin.post(
        "/_standin/failures", json={"family": "chat", "status": 429, "retry_after": 2}
    )
    assert added.status_code == 200
    limited = await standin.post("/v1/chat/completions", json=chat("m"))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert (await standin.post("/v1/chat/completions", json=chat("m"))).status_code == 200


async def test_a_fraction_of_requests_fail_the_same_way_each_run(
    standin: httpx.AsyncClient,
) -> None:
    async def outcomes() -> list[int]:
        await configure(
            standin,
            seed=7,
            first_token_ms=0,
            output_tokens=2,
            failures=[{"family": "chat", "status": 503, "count": -1, "fraction": 0.5}],
        )
        body = chat("m", stream=False)
        return [
            (await standin.post("/v1/chat/completions", json=body)).status_code for _ in range(20)
        ]

    first = await outcomes()
    assert first == await outcomes()
    assert 3 <= first.count(503) <= 17 and set(first) == {200, 503}


async def test_a_cut_stream_ends_without_done(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        first_token_ms=0,
        failures=[{"family": "chat", "model": "m", "kind": "cut", "after_chunks": 3}],
    )
    cut = await standin.post("/v1/chat/completions", json=chat("m"))
    assert cut.status_code == 200
    data = sse_data(cut.text)
    assert len(data) == 3 and "[DONE]" not in data
    assert all(c["choices"][0]["finish_reason"] is None for c in sse_chunks(cut.text))


async def test_an_abrupt_cut_drops_the_connection_mid_body(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        first_token_ms=0,
        failures=[{"family": "chat", "kind": "cut", "after_chunks": 2, "abrupt": True}],
    )
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        async with standin.stream("POST", "/v1/chat/completions", json=chat("m")) as response:
            async for line in response.aiter_lines():
                received.append(line)
    assert len(sse_data("\n".join(received))) == 2


async def test_a_stall_sends_the_first_chunk_then_hangs(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        first_token_ms=0,
        failures=[{"family": "chat", "kind": "stall", "stall_seconds": 5}],
    )
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        async with standin.stream(
            "POST", "/v1/chat/completions", json=chat("m"), timeout=httpx.Timeout(5, read=0.3)
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                received.append(line)
    assert time.monotonic() - started < 2
    chunks = sse_chunks("\n".join(received))
    assert len(chunks) == 1 and chunks[0]["choices"][0]["delta"]["role"] == "assistant"


async def test_a_stream_error_chunk_ends_the_stream(standin: httpx.AsyncClient) -> None:
    await configure(
        standin,
        first_token_ms=0,
        failures=[{"family": "chat", "kind": "stream_error", "after_chunks": 2, "status": 502}],
    )
    response = await standin.post("/v1/chat/completions", json=chat("m"))
    chunks = sse_chunks(response.text)
    assert len(chunks) == 3 and "[DONE]" not in sse_data(response.text)
    assert chunks[-1]["error"]["code"] == 502
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"


async def test_a_required_key_is_checked(standin: httpx.AsyncClient) -> None:
    await configure(standin, require_key="sk-test", first_token_ms=0, output_tokens=2)
    missing = await standin.post("/v1/chat/completions", json=chat("m"))
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    wrong = await standin.get("/v1/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    good = {"Authorization": "Bearer sk-test"}
    assert (await standin.post("/v1/chat/completions", json=chat("m"), headers=good)).is_success
    models = (await standin.get("/v1/models", headers=good)).json()
    assert models["object"] == "list"
    assert "standin-roleplay" in [m["id"] for m in models["data"]]
    sent = (await recorded(standin))[-1]
    assert sent["auth_scheme"] == "Bearer" and "authorization" not in sent["headers"]


async def test_a_malformed_request_gets_an_openai_error(standin: httpx.AsyncClient) -> None:
    response = await standin.post("/v1/chat/completions", json={"model": "m"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_a_plain_answer_can_stall_after_its_headers_or_be_cut(
    standin: httpx.AsyncClient,
) -> None:
    await configure(
        standin,
        first_token_ms=0,
        tokens_per_second=0,
        failures=[
            {"family": "chat", "model": "slow", "kind": "stall", "stall_seconds": 5},
            {"family": "chat", "model": "cut", "kind": "cut"},
        ],
    )
    with pytest.raises(httpx.ReadTimeout):
        async with standin.stream(
            "POST",
            "/v1/chat/completions",
            json=chat("slow", stream=False),
            timeout=httpx.Timeout(5, read=0.3),
        ) as response:
            assert response.status_code == 200
            await response.aread()
    cut = await standin.post("/v1/chat/completions", json=chat("cut", stream=False))
    with pytest.raises(ValueError):
        cut.json()


async def test_keep_alive_comments_can_precede_the_chunks(standin: httpx.AsyncClient) -> None:
    await configure(
        standin, sse_comments=True, first_token_ms=0, tokens_per_second=0, output_tokens=3
    )
    response = await standin.post("/v1/chat/completions", json=chat("m"))
    assert response.text.startswith(": STANDIN PROCESSING\n\n")
    assert sse_data(response.text)[-1] == "[DONE]"


async def test_a_scripted_reply_is_sent_as_written_whatever_the_reply_length(
    standin: httpx.AsyncClient,
) -> None:
    script = '{"summary": "They met.", "facts": ["Ash is a baker"]}'
    await configure(
        standin,
        output_tokens=3,
        first_token_ms=0,
        tokens_per_second=0,
        scripted_replies={"m-script": script},
    )
    body = chat("m-script", stream=False)
    answer = (await standin.post("/v1/chat/completions", json=body)).json()
    assert answer["choices"][0]["message"]["content"] == script
    assert answer["choices"][0]["finish_reason"] == "stop"
    cut = chat("m-script", stream=False, max_tokens=2)
    answer = (await standin.post("/v1/chat/completions", json=cut)).json()
    assert answer["choices"][0]["message"]["content"] == '{"summary": "They'
    assert answer["choices"][0]["finish_reason"] == "length"
    other = (await standin.post("/v1/chat/completions", json=chat("m", stream=False))).json()
    assert "(m)" in other["choices"][0]["message"]["content"]
