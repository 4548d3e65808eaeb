"""A Kafka broker restarted while turns stream: every accepted turn ends, none hangs.

Real processes (the stand-in, a chat instance, a gateway) use a broker of the test's own,
run by the local toolkit exactly as `roleplay infra up` runs the session's (see `broker.py`:
restarting the shared one would cut every other test using it). People stream replies; the
broker is stopped (a controlled shutdown), kept down 3 s while more messages are sent, and
started again. Every turn accepted must complete — or, if it cannot be finished, end with a
`turn.failed` carrying an error code — never a stream that does not end. Every request while
the broker is away is answered 200 or 503.
Counted: answers by status, dropped connections, turns accepted / completed / failed /
never ended, lost user messages, duplicated replies, streamed text differing from the
stored reply.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from roleplay_local.infra import Endpoints
from tests.conftest import isolated_env
from tests.faults.broker import ToolkitBroker, toolkit_kafka_missing
from tests.faults.clients import (
    TurnStream,
    configure_standin,
    new_conversations,
    new_user,
    stored_replies,
    stream_turn,
)
from tests.faults.system import real_system

STREAMING = 8
DURING = 4
DOWN_SECONDS = 3.0


async def _send_while_down(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stream: TurnStream,
    statuses: Counter[int | str],
    accepted: list[TurnStream],
) -> None:
    """A message sent while the broker is away: refused (503) or accepted and streamed."""
    try:
        async with client.stream(
            "POST",
            f"/v1/conversations/{stream.conversation}/messages",
            json={"content": "Is anyone still there?"},
            headers={**headers, "Accept": "text/event-stream"},
        ) as response:
            statuses[response.status_code] += 1
            if response.status_code != 200:
                await response.aread()
                assert response.status_code != 503 or "retry-after" in response.headers
                return
            accepted.append(stream)
            await stream.read(response)
    except httpx.HTTPError:
        statuses["dropped"] += 1


async def test_a_restarted_broker_ends_every_turn(endpoints: Endpoints, tmp_path: Path) -> None:
    missing = toolkit_kafka_missing()
    if missing is not None:
        pytest.skip(missing)
    broker = ToolkitBroker(tmp_path / "kafka")
    await asyncio.to_thread(broker.start)
    own = dataclasses.replace(endpoints, kafka_bootstrap_servers=broker.bootstrap_servers)
    try:
        async with (
            isolated_env(own) as env,
            real_system(env, tmp_path, ("standin", "chat", "gateway")) as system,
        ):
            # 60 tokens at 10 a second: each reply streams for 6 s, across the restart.
            await configure_standin(system["standin"].url, tokens_per_second=10, output_tokens=60)
            async with httpx.AsyncClient(base_url=system["gateway"].url, timeout=60) as client:
                headers = await new_user(client)
                conversations = await new_conversations(client, headers, STREAMING + DURING)
                streams = [TurnStream(c) for c in conversations[:STREAMING]]
                accepted = list(streams)
                running = [
                    asyncio.create_task(stream_turn(client, s, headers, resume_for=150))
                    for s in streams
                ]
                async with asyncio.timeout(60):
                    while not all("delta" in s.names for s in streams):
                        await asyncio.sleep(0.1)

                began = time.monotonic()
                await asyncio.to_thread(broker.stop)
                stopped = time.monotonic() - began
                statuses: Counter[int | str] = Counter()
                running += [
                    asyncio.create_task(
                        _send_while_down(client, headers, TurnStream(c), statuses, accepted)
                    )
                    for c in conversations[STREAMING:]
                ]
                await asyncio.sleep(DOWN_SECONDS)
                began = time.monotonic()
                await asyncio.to_thread(broker.start)
                restarted = time.monotonic() - began

                # A stream still open after this is one that never ends: counted, then cut.
                _, pending = await asyncio.wait(running, timeout=150)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

                lost, duplicated, mismatched = 0, 0, 0
                for stream in accepted:
                    users, replies = await stored_replies(client, stream.conversation, headers)
                    lost += len(users) != 1
                    # The greeting, then at most one reply.
                    duplicated += len(replies) > 2
                    if stream.ended == "turn.completed":
                        stored = stream.events[-1][2]["message"]["content"]
                        mismatched += stream.reply_text() != stored
            outcomes = Counter(s.ended for s in accepted)
            unclear = sum(
                s.ended == "turn.failed" and not s.events[-1][2].get("error", {}).get("code")
                for s in accepted
            )
            answered = ", ".join(
                f"{n} x {status}" for status, n in sorted(statuses.items(), key=str)
            )
            print(
                f"\nkafka restarted mid-stream (stopping took {stopped:.1f} s, away "
                f"{DOWN_SECONDS + restarted:.0f} s until it answered again): while away "
                f"{answered}; {len(accepted)} turns "
                f"accepted, {outcomes['turn.completed']} completed, {outcomes['turn.failed']} "
                f"failed ({unclear} without an error code), {outcomes[None]} never ended, "
                f"{sum(s.connections > 1 for s in accepted)} resumed; {lost} lost user "
                f"messages, {duplicated} duplicated replies, {mismatched} text mismatches"
            )
            assert outcomes[None] == unclear == 0
            assert set(statuses) <= {200, 503}
            assert lost == duplicated == mismatched == 0
    finally:
        await asyncio.to_thread(broker.stop)
