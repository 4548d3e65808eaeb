"""`kill -9` of one of two chat instances mid-stream: every turn still completes.

Real processes (the stand-in, a gateway, two chat instances) on a database, topics and
buckets of their own. People stream replies; one chat instance is killed while it streams
its share; the other takes those turns over (`turn.restarted`, then the reply again).
Counted: turns completed, failed, restarted, streams that never ended, duplicated replies.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import isolated_env
from tests.faults.processes import Service
from tests.faults.system import real_system
from tests.support.endpoints import Endpoints

TURNS = 12


@dataclass
class Stream:
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]

    @property
    def ended(self) -> str | None:
        return next((n for n in self.names if n in ("turn.completed", "turn.failed")), None)

    def reply_text(self) -> str:
        """The deltas after the last `turn.restarted`: what the client shows in the end."""
        text: list[str] = []
        for _, name, data in self.events:
            if name == "turn.restarted":
                text.clear()
            elif name == "delta":
                text.append(data["text"])
        return "".join(text)


@pytest.fixture
async def system(endpoints: Endpoints, tmp_path: Path) -> AsyncIterator[dict[str, Service]]:
    async with (
        isolated_env(endpoints) as env,
        real_system(
            env,
            tmp_path,
            ("standin", "chat_a", "chat_b", "gateway"),
            extra={"CHAT_TURN_LEASE_SECONDS": "3"},
        ) as services,
    ):
        yield services


async def _stream(
    client: httpx.AsyncClient, conversation: str, headers: dict[str, str], stream: Stream
) -> None:
    seq, name = 0, ""
    async with client.stream(
        "POST",
        f"/v1/conversations/{conversation}/messages",
        json={"content": "Tell me about the harbor at night."},
        headers={**headers, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                seq = int(line[3:].strip())
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                stream.events.append((seq, name, json.loads(line[5:])))
                if name in ("turn.completed", "turn.failed"):
                    return


async def test_a_killed_chat_instance_loses_no_turn(system: dict[str, Service]) -> None:
    async with httpx.AsyncClient(base_url=system["standin"].url) as standin:
        config = (await standin.get("/_standin/config")).json()
        config.update(tokens_per_second=20, output_tokens=80)
        (await standin.post("/_standin/config", json=config)).raise_for_status()
    async with httpx.AsyncClient(base_url=system["gateway"].url, timeout=120) as client:
        name = f"fault{uuid.uuid4().hex[:8]}"
        registered = await client.post(
            "/v1/auth/register",
            json={"email": f"{name}@example.com", "password": "fault-password-1", "username": name},
        )
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        characters = await client.get("/v1/characters", params={"scope": "public"}, headers=headers)
        character = characters.json()["items"][0]["id"]
        conversations = [
            (
                await client.post(
                    "/v1/conversations", json={"character_id": character}, headers=headers
                )
            ).json()["id"]
            for _ in range(TURNS)
        ]
        streams = [Stream() for _ in conversations]
        running = [
            asyncio.create_task(_stream(client, c, headers, s))
            for c, s in zip(conversations, streams, strict=True)
        ]
        async with asyncio.timeout(60):
            while not all("delta" in s.names for s in streams):
                await asyncio.sleep(0.1)
        system["chat_a"].kill()
        await asyncio.wait_for(asyncio.gather(*running), timeout=120)

        outcomes = [s.ended for s in streams]
        restarted = sum("turn.restarted" in s.names for s in streams)
        stored: list[int] = []
        for conversation, stream in zip(conversations, streams, strict=True):
            messages = await client.get(
                f"/v1/conversations/{conversation}/messages", headers=headers
            )
            replies = [m for m in messages.json()["items"] if m["sender"] == "assistant"]
            # The greeting, then exactly one reply to the one message sent.
            stored.append(len(replies) - 1)
            completed = stream.events[-1][2]
            assert stream.reply_text() == completed["message"]["content"]
            seqs = [seq for seq, name, _ in stream.events]
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        print(
            f"\nchat instance killed mid-stream: {outcomes.count('turn.completed')} completed, "
            f"{outcomes.count('turn.failed')} failed, {outcomes.count(None)} never ended, "
            f"{restarted} restarted, {sum(n != 1 for n in stored)} with a lost or extra reply"
        )
        assert outcomes == ["turn.completed"] * TURNS
        assert restarted >= 1
        assert stored == [1] * TURNS
