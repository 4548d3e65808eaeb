"""What a person's client does in the fault tests: register, open conversations, stream turns
(resuming with `Last-Event-ID` when the connection drops), and check what was stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

ENDINGS = ("turn.completed", "turn.failed")


@dataclass
class TurnStream:
    """The events one client saw for one turn, across every connection it took."""

    conversation: str
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    connections: int = 0
    turn_id: str | None = None

    @property
    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    @property
    def ended(self) -> str | None:
        return next((n for n in self.names if n in ENDINGS), None)

    @property
    def last_id(self) -> int | None:
        return self.events[-1][0] if self.events else None

    def reply_text(self) -> str:
        """The deltas after the last `turn.restarted`: what the client shows in the end."""
        text: list[str] = []
        for _, name, data in self.events:
            if name == "turn.restarted":
                text.clear()
            elif name == "delta":
                text.append(data["text"])
        return "".join(text)

    def duplicated_ids(self) -> int:
        ids = [seq for seq, _, _ in self.events]
        return len(ids) - len(set(ids))

    async def read(self, response: httpx.Response) -> None:
        """Events until the turn ends or the connection does."""
        self.connections += 1
        seq, name = 0, ""
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                seq = int(line[3:].strip())
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                self.events.append((seq, name, data))
                if name == "turn.started":
                    self.turn_id = data["turn_id"]
                if name in ENDINGS:
                    return


async def new_user(client: httpx.AsyncClient) -> dict[str, str]:
    name = f"fault{uuid.uuid4().hex[:8]}"
    registered = await client.post(
        "/v1/auth/register",
        json={"email": f"{name}@example.com", "password": "fault-password-1", "username": name},
    )
    assert registered.status_code == 201, registered.text
    return {"Authorization": f"Bearer {registered.json()['access_token']}"}


async def new_conversations(
    client: httpx.AsyncClient, headers: dict[str, str], count: int
) -> list[str]:
    characters = await client.get("/v1/characters", params={"scope": "public"}, headers=headers)
    character = characters.json()["items"][0]["id"]
    made = []
    for _ in range(count):
        created = await client.post(
            "/v1/conversations", json={"character_id": character}, headers=headers
        )
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    return made


async def configure_standin(url: str, **changes: Any) -> None:
    async with httpx.AsyncClient(base_url=url) as standin:
        (await standin.post("/_standin/config", json=changes)).raise_for_status()


async def stream_turn(
    client: httpx.AsyncClient,
    stream: TurnStream,
    headers: dict[str, str],
    content: str = "Tell me about the harbor at night.",
    *,
    resume_for: float = 0.0,
) -> None:
    """Send a message and stream its turn. A dropped connection is resumed on the turn's
    stream route with `Last-Event-ID` for up to `resume_for` seconds (0: not at all)."""
    try:
        async with client.stream(
            "POST",
            f"/v1/conversations/{stream.conversation}/messages",
            json={"content": content},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200, await response.aread()
            await stream.read(response)
    except httpx.HTTPError:
        if not resume_for or stream.turn_id is None:
            raise
    if stream.ended is None and resume_for:
        await resume(client, stream, headers, resume_for)


async def resume(
    client: httpx.AsyncClient, stream: TurnStream, headers: dict[str, str], within: float
) -> None:
    """Reconnect to `GET /v1/turns/{id}/stream` after the last event seen until the turn ends."""
    async with asyncio.timeout(within):
        while stream.ended is None:
            resumed = {**headers, "Accept": "text/event-stream"}
            if stream.last_id is not None:
                resumed["Last-Event-ID"] = str(stream.last_id)
            try:
                async with client.stream(
                    "GET", f"/v1/turns/{stream.turn_id}/stream", headers=resumed
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                        await asyncio.sleep(0.3)
                        continue
                    await stream.read(response)
            except httpx.HTTPError:
                await asyncio.sleep(0.3)


async def stored_replies(
    client: httpx.AsyncClient, conversation: str, headers: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(user messages, assistant messages) of a conversation (up to 100), oldest first."""
    page = await client.get(
        f"/v1/conversations/{conversation}/messages", params={"limit": 100}, headers=headers
    )
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return (
        [m for m in items if m["sender"] == "user"],
        [m for m in items if m["sender"] == "assistant"],
    )
