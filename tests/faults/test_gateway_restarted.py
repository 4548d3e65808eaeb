"""A gateway restarted while it streams turns: every client resumes and misses nothing.

Real processes (the stand-in, a chat instance, a gateway) on a database, topics and buckets
of their own. People stream replies through the gateway; it is stopped (first SIGTERM, which
drains streams for its 10 s graceful stop and then cuts them, then, in a second round,
`kill -9`) and started again on the same port. Each client reconnects to
`GET /v1/turns/{id}/stream` with `Last-Event-ID` and gets the rest of its turn.
Counted per round: turns completed, failed, never ended, resumed, duplicated event ids,
replies whose streamed text differs from the stored message, lost or extra messages.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from roleplay_local.infra import Endpoints
from tests.conftest import isolated_env
from tests.faults.clients import (
    TurnStream,
    configure_standin,
    new_conversations,
    new_user,
    stored_replies,
    stream_turn,
)
from tests.faults.processes import Service
from tests.faults.system import real_system

TURNS = 8


async def _round(gateway: Service, how: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        headers = await new_user(client)
        conversations = await new_conversations(client, headers, TURNS)
    # A client of its own per round: the restart drops every pooled connection.
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        streams = [TurnStream(c) for c in conversations]
        running = [
            asyncio.create_task(stream_turn(client, s, headers, resume_for=120)) for s in streams
        ]
        async with asyncio.timeout(60):
            while not all("delta" in s.names for s in streams):
                await asyncio.sleep(0.1)
        began = time.monotonic()
        if how == "kill -9":
            await asyncio.to_thread(gateway.kill)
        else:
            await asyncio.to_thread(gateway.stop)
        stopped = time.monotonic() - began
        gateway.start()
        await gateway.ready()
        await asyncio.wait_for(asyncio.gather(*running), timeout=150)

        outcomes = [s.ended for s in streams]
        resumed = sum(s.connections > 1 for s in streams)
        duplicated = sum(s.duplicated_ids() for s in streams)
        gaps, mismatched, lost_or_extra = 0, 0, 0
        for stream in streams:
            seqs = [seq for seq, _, _ in stream.events]
            gaps += seqs != list(range(seqs[0], seqs[0] + len(seqs)))
            users, replies = await stored_replies(client, stream.conversation, headers)
            # The greeting, then exactly one reply to the one message sent.
            lost_or_extra += len(users) != 1 or len(replies) != 2
            if stream.ended == "turn.completed":
                stored = stream.events[-1][2]["message"]["content"]
                mismatched += stream.reply_text() != stored or replies[-1]["content"] != stored
        print(
            f"\ngateway restarted ({how}, down after {stopped:.1f} s) mid-stream: "
            f"{outcomes.count('turn.completed')} completed, {outcomes.count('turn.failed')} "
            f"failed, {outcomes.count(None)} never ended, {resumed} resumed, {duplicated} "
            f"duplicated event ids, {gaps} with a gap, {mismatched} text mismatches, "
            f"{lost_or_extra} with a lost or extra message"
        )
        assert outcomes == ["turn.completed"] * TURNS
        assert duplicated == gaps == mismatched == lost_or_extra == 0
        assert resumed >= 1


async def test_a_restarted_gateway_loses_no_event(endpoints: Endpoints, tmp_path: Path) -> None:
    async with (
        isolated_env(endpoints) as env,
        real_system(env, tmp_path, ("standin", "chat", "gateway")) as system,
    ):
        # 80 tokens at 5 a second: each reply streams for 16 s, longer than the gateway's
        # 10 s graceful stop, so SIGTERM cuts the streams too (after draining 10 s).
        await configure_standin(system["standin"].url, tokens_per_second=5, output_tokens=80)
        for how in ("SIGTERM", "kill -9"):
            await _round(system["gateway"], how)
