"""The turn-start gate: starts go through a few at a time in arrival order, and nothing but
the start itself holds a place (not a stream, not a slow body, not another route)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message, Receive, Scope, Send

from roleplay_gateway.turns.admission import TurnStartGate

START = "/v1/conversations/0b7c4a5e-0000-4000-8000-000000000001/messages"


def scope(path: str = START, method: str = "POST") -> Scope:
    return {"type": "http", "method": method, "path": path, "headers": []}


def body(data: bytes = b"{}") -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": data, "more_body": False}

    return receive


class App:
    """Records who is inside; each request answers when its `release` event is set, and with
    `stream`, keeps streaming after the response started until `finish` is set."""

    def __init__(self) -> None:
        self.inside: list[str] = []
        self.entered: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.finish = asyncio.Event()
        self.bodies: dict[str, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["name"]
        self.inside.append(name)
        self.entered.append(name)
        self.bodies[name] = (await receive())["body"]
        await self.release.setdefault(name, asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        self.inside.remove(name)
        if scope.get("stream"):
            await self.finish.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def noop(message: Message) -> None:
    return None


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_starts_go_through_one_at_a_time_in_arrival_order() -> None:
    app = App()
    gate = TurnStartGate(app, concurrency=1)
    names = ["a", "b", "c"]
    tasks = []
    for name in names:
        tasks.append(asyncio.create_task(gate({**scope(), "name": name}, body(), noop)))
        await settle()
    for name in names:
        await settle()
        assert app.inside == [name]
        app.release.setdefault(name, asyncio.Event()).set()
    await asyncio.gather(*tasks)
    assert app.entered == names and app.bodies == dict.fromkeys(names, b"{}")


async def test_a_stream_leaves_its_place_when_its_response_starts() -> None:
    app = App()
    gate = TurnStartGate(app, concurrency=1)
    app.release["streaming"] = asyncio.Event()
    app.release["streaming"].set()
    streaming = asyncio.create_task(
        gate({**scope(), "name": "streaming", "stream": True}, body(), noop)
    )
    await settle()
    app.release["next"] = asyncio.Event()
    app.release["next"].set()
    async with asyncio.timeout(2):
        await gate({**scope(), "name": "next"}, body(), noop)
    assert not streaming.done()
    app.finish.set()
    await streaming


async def test_a_slow_body_does_not_hold_a_place() -> None:
    app = App()
    gate = TurnStartGate(app, concurrency=1)
    never = asyncio.Event()

    async def slow() -> Message:
        await never.wait()
        return {"type": "http.request", "body": b"late", "more_body": False}

    waiting = asyncio.create_task(gate({**scope(), "name": "slow"}, slow, noop))
    await settle()
    app.release["quick"] = asyncio.Event()
    app.release["quick"].set()
    async with asyncio.timeout(2):
        await gate({**scope(), "name": "quick"}, body(), noop)
    assert "slow" not in app.entered
    waiting.cancel()


async def test_other_requests_pass_by_the_gate() -> None:
    app = App()
    gate = TurnStartGate(app, concurrency=1)
    held = asyncio.create_task(gate({**scope(), "name": "held"}, body(), noop))
    await settle()
    for name, other in [
        ("get", scope(method="GET")),
        ("other", scope(path="/v1/conversations")),
        ("tools", scope(path=START.replace("messages", "impersonate"))),
    ]:
        app.release[name] = asyncio.Event()
        app.release[name].set()
        async with asyncio.timeout(2):
            await gate({**other, "name": name}, body(), noop)
    assert app.inside == ["held"]
    app.release["held"].set()
    await held


async def test_a_failing_start_gives_its_place_back() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    gate = TurnStartGate(failing, concurrency=1)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await gate(scope(), body(), noop)
    async with asyncio.timeout(1):
        await gate.gate.acquire()
