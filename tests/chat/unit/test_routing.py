"""Routing: retries with backoff, fallback by order, unhealthy workers skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from roleplay_chat.providers.errors import ProviderError
from roleplay_chat.providers.openai_compatible import StreamEnd, StreamEvent, TextDelta
from roleplay_chat.routing import TurnFailedError, stream_with_fallback
from roleplay_chat.worker_health import WorkerHealth, WorkerStatus
from roleplay_common.events import ModelRoute


def route(key: str, **kw: object) -> ModelRoute:
    return ModelRoute.model_validate(
        {"model_key": key, "model_name": key, "provider": "p", "base_url": "http://x", **kw}
    )


class Script:
    """A provider whose behaviour per model is scripted: a list of outcomes per call."""

    def __init__(self, outcomes: dict[str, list[str]]) -> None:
        self.outcomes = outcomes
        self.calls: list[str] = []

    async def stream(self, r: ModelRoute) -> AsyncIterator[StreamEvent]:
        self.calls.append(r.model_key)
        outcome = self.outcomes[r.model_key].pop(0)
        if outcome == "500":
            raise ProviderError("provider_unavailable", "500", retryable=True, status=500)
        if outcome == "401":
            raise ProviderError("provider_auth_failed", "401", retryable=False, status=401)
        if outcome == "cut":
            yield TextDelta("Half a ")
            raise ProviderError("provider_stream_cut", "cut", retryable=True)
        for word in outcome.split():
            yield TextDelta(word + " ")
        yield StreamEnd("stop", 10, 2)


@pytest.fixture
def health() -> WorkerHealth:
    return WorkerHealth(httpx.AsyncClient())


async def test_a_failing_model_is_retried_then_the_next_one_answers(health: WorkerHealth) -> None:
    script = Script({"a": ["500", "500", "500"], "b": ["hello there"]})
    texts: list[str] = []

    async def on_text(t: str) -> None:
        texts.append(t)

    reply = await stream_with_fallback(
        [route("a"), route("b")], script.stream, on_text, health=health, retries=2, backoff=0.001
    )
    assert reply.route.model_key == "b"
    assert "".join(texts) == reply.text == "hello there "
    assert script.calls == ["a", "a", "a", "b"]
    assert [a.ok for a in reply.attempts] == [False, False, False, True]


async def test_a_non_retryable_error_falls_back_at_once(health: WorkerHealth) -> None:
    script = Script({"a": ["401"], "b": ["ok"]})

    async def on_text(t: str) -> None:
        pass

    reply = await stream_with_fallback(
        [route("a"), route("b")], script.stream, on_text, health=health, retries=3, backoff=0.001
    )
    assert script.calls == ["a", "b"] and reply.route.model_key == "b"


async def test_a_stream_cut_after_text_ends_the_turn(health: WorkerHealth) -> None:
    script = Script({"a": ["cut"], "b": ["ok"]})

    async def on_text(t: str) -> None:
        pass

    with pytest.raises(TurnFailedError) as failed:
        await stream_with_fallback(
            [route("a"), route("b")],
            script.stream,
            on_text,
            health=health,
            retries=2,
            backoff=0.001,
        )
    assert failed.value.code == "stream_interrupted"
    assert script.calls == ["a"]


async def test_every_model_failing_gives_the_last_error(health: WorkerHealth) -> None:
    script = Script({"a": ["500", "500"]})

    async def on_text(t: str) -> None:
        pass

    with pytest.raises(TurnFailedError) as failed:
        await stream_with_fallback(
            [route("a")], script.stream, on_text, health=health, retries=1, backoff=0.001
        )
    assert failed.value.code == "provider_unavailable"
    assert len(failed.value.attempts) == 2


async def test_an_unhealthy_local_worker_is_skipped(health: WorkerHealth) -> None:
    import time

    worker = route("w", provider_kind="local_worker", health_url="http://worker/health")
    health._status["http://worker/health"] = WorkerStatus(False, time.monotonic(), "down")
    script = Script({"w": ["never"], "b": ["ok"]})

    async def on_text(t: str) -> None:
        pass

    reply = await stream_with_fallback(
        [worker, route("b")], script.stream, on_text, health=health, retries=1, backoff=0.001
    )
    assert script.calls == ["b"] and reply.route.model_key == "b"
