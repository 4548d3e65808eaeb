"""Turn starts go through in arrival order, a few at a time.

Starting a turn is a few milliseconds of work: the rate limit, the caller, the conversation,
the cards, publishing the command. When a hundred people press send at once, running all
of those requests interleaved makes every one of them finish near the end of the burst, so
nobody sees a first word until everybody's turn has started. `TurnStartGate` lets
`concurrency` of them work at once and queues the rest in arrival order (asyncio's semaphore
is first come, first served): the first turns are on their way to the model within
milliseconds, and the burst as a whole takes no longer. A request enters the gate with its
body read (a slow client does not hold a place) and leaves when its response starts (the
stream's headers, a 202 or an error), never while it streams.
"""

from __future__ import annotations

import asyncio
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TURN_STARTS = re.compile(r"^/v1/conversations/[^/]+/(messages|regenerate|continue)$")


class TurnStartGate:
    def __init__(self, app: ASGIApp, *, concurrency: int) -> None:
        self.app = app
        self.gate = asyncio.Semaphore(concurrency)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not TURN_STARTS.match(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        received = await _whole_body(receive)

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.gate.acquire()
        held = True

        def leave() -> None:
            nonlocal held
            if held:
                held = False
                self.gate.release()

        async def send_and_leave(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        try:
            await self.app(scope, replay, send_and_leave)
        finally:
            leave()


async def _whole_body(receive: Receive) -> list[Message]:
    """The request's messages through its last body chunk (`BodyLimit`, outside, bounds it)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages
