"""PostgreSQL away for 5 s, then "restarted", under traffic: nothing lost, nothing a 500.

Real processes (the stand-in, a chat instance, a gateway) reach PostgreSQL through a TCP
relay the test cuts: first for 5 s (every connection dropped, new ones refused), then a
restart — every backend of the isolated database terminated, the relay cut for 1 s,
restored. Meanwhile
people keep sending streamed turns and reading their conversations.
Counted: answers by status, 503s without `Retry-After`, dropped connections, turns
accepted / completed / failed / never ended / restarted (taken over), lost user messages,
lost and duplicated replies.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from roleplay_local.infra import Endpoints
from tests.conftest import IsolatedEnv, isolated_env
from tests.faults.clients import (
    TurnStream,
    configure_standin,
    new_conversations,
    new_user,
    resume,
    stored_replies,
)
from tests.faults.system import real_system
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

WORKERS = 6
OUTAGE_SECONDS = 5.0


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    without_retry_after: int = 0
    dropped: int = 0
    accepted: list[tuple[str, TurnStream]] = field(default_factory=list)

    def answered(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503 and "retry-after" not in response.headers:
            self.without_retry_after += 1


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.netloc.rsplit('@', 1)[0]}@127.0.0.1:{port}"))


async def _pause(response: httpx.Response) -> None:
    await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 1.0))


async def _send_turns(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conversation: str,
    stop: asyncio.Event,
    tally: Tally,
) -> None:
    """One person sending message after message; a 503 is waited out (`Retry-After`, at most
    1 s) and the next message sent; a dropped stream is resumed to its end."""
    sent = 0
    while not stop.is_set():
        sent += 1
        content = f"{conversation[:8]} message {sent}: what lies past the harbor?"
        stream = TurnStream(conversation)
        try:
            async with client.stream(
                "POST",
                f"/v1/conversations/{conversation}/messages",
                json={"content": content},
                headers={**headers, "Accept": "text/event-stream"},
            ) as response:
                tally.answered(response)
                if response.status_code != 200:
                    await response.aread()
                    await _pause(response)
                    continue
                tally.accepted.append((content, stream))
                await stream.read(response)
        except httpx.HTTPError:
            tally.dropped += 1
        if stream.ended is None and stream.turn_id is not None:
            tally.dropped += 1
            await resume(client, stream, headers, 90)


async def _read_conversations(
    client: httpx.AsyncClient, headers: dict[str, str], stop: asyncio.Event, tally: Tally
) -> None:
    while not stop.is_set():
        try:
            response = await client.get("/v1/conversations", headers=headers)
            tally.answered(response)
        except httpx.HTTPError:
            tally.dropped += 1
        await asyncio.sleep(0.2)


async def _terminate_backends(env: IsolatedEnv) -> int:
    database = urlsplit(env.database_url).path.lstrip("/")
    admin = await asyncpg.connect(
        env.endpoints.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        rows = await admin.fetch(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where datname = $1 and pid <> pg_backend_pid()",
            database,
        )
        return len(rows)
    finally:
        await admin.close()


async def _outages(env: IsolatedEnv, proxy: TcpProxy) -> int:
    await asyncio.sleep(3)
    proxy.cut()
    await asyncio.sleep(OUTAGE_SECONDS)
    proxy.restore()
    await asyncio.sleep(5)
    # As a restart does: every session ended by the server ("terminating connection due to
    # administrator command"), then no server for a moment.
    terminated = await _terminate_backends(env)
    proxy.cut()
    await asyncio.sleep(1)
    proxy.restore()
    await asyncio.sleep(5)
    return terminated


async def test_a_postgres_outage_and_restart_lose_nothing(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    database = urlsplit(endpoints.database_url)
    async with (
        isolated_env(endpoints) as env,
        tcp_proxy(database.hostname or "127.0.0.1", database.port or 5432) as proxy,
        real_system(
            env,
            tmp_path,
            ("standin", "chat", "gateway"),
            extra={"ROLEPLAY_DATABASE_URL": _via(env.database_url, proxy.port)},
        ) as system,
    ):
        await configure_standin(system["standin"].url, tokens_per_second=100, output_tokens=40)
        async with httpx.AsyncClient(base_url=system["gateway"].url, timeout=60) as client:
            headers = await new_user(client)
            conversations = await new_conversations(client, headers, WORKERS)
            tally, stop = Tally(), asyncio.Event()
            traffic = [
                asyncio.create_task(_send_turns(client, headers, c, stop, tally))
                for c in conversations
            ]
            traffic.append(asyncio.create_task(_read_conversations(client, headers, stop, tally)))
            terminated = await _outages(env, proxy)
            stop.set()
            # A stream still open after this is one that never ends: counted, then cut.
            _, pending = await asyncio.wait(traffic, timeout=120)
            for task in pending:
                task.cancel()
            await asyncio.gather(*traffic, return_exceptions=True)

            lost_messages, lost_replies, duplicated, mismatched = 0, 0, 0, 0
            for conversation in conversations:
                users, replies = await stored_replies(client, conversation, headers)
                stored_users = Counter(m["content"] for m in users)
                by_turn = Counter(m["turn_id"] for m in replies)
                for content, stream in tally.accepted:
                    if stream.conversation != conversation:
                        continue
                    lost_messages += stored_users[content] == 0
                    if stream.ended == "turn.completed":
                        lost_replies += by_turn[stream.turn_id] == 0
                        stored = stream.events[-1][2]["message"]["content"]
                        mismatched += stream.reply_text() != stored
                duplicated += sum(n - 1 for turn, n in by_turn.items() if turn is not None)
                duplicated += sum(n - 1 for n in stored_users.values())
        outcomes = Counter(stream.ended for _, stream in tally.accepted)
        restarted = sum("turn.restarted" in stream.names for _, stream in tally.accepted)
        statuses = ", ".join(f"{n} x {status}" for status, n in sorted(tally.statuses.items()))
        print(
            f"\npostgres cut {OUTAGE_SECONDS:.0f} s, then restarted ({terminated} backends "
            f"terminated): answers {statuses}; {tally.without_retry_after} 503 without "
            f"Retry-After, {tally.dropped} dropped connections; {len(tally.accepted)} turns "
            f"accepted, {outcomes['turn.completed']} completed, {outcomes['turn.failed']} "
            f"failed, {outcomes[None]} never ended, {restarted} restarted; {lost_messages} "
            f"lost user messages, "
            f"{lost_replies} lost replies, {duplicated} duplicated, {mismatched} text mismatches"
        )
        assert set(tally.statuses) <= {200, 503}
        assert tally.without_retry_after == tally.dropped == 0
        assert outcomes["turn.completed"] == len(tally.accepted)
        assert lost_messages == lost_replies == duplicated == mismatched == 0
        assert tally.statuses[503] >= 1  # the outage was seen
