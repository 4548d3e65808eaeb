"""Transactional outbox: events written with the data change, relayed to Kafka afterwards.

`add_to_outbox` inserts the envelope in the caller's transaction and queues a `NOTIFY`, which
PostgreSQL delivers only if that transaction commits. `OutboxRelay` listens for it (and polls
as a fallback), publishes unpublished rows in order and marks them published. A crash between
publish and mark republishes the row on restart; consumers dedupe by event id, so the only
effect is at-least-once delivery, never a loss. Several relays may run: rows are claimed with
`FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import asyncpg
import sqlalchemy as sa
from faststream.kafka import KafkaBroker
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roleplay_common.broker import Topics, publish_raw
from roleplay_common.db.engine import Database
from roleplay_common.db.plumbing import outbox_table
from roleplay_common.events import EventEnvelope
from roleplay_common.logging import get_logger

log = get_logger(__name__)


def _channel(schema: str) -> str:
    return f"{schema}_outbox"


async def add_to_outbox(
    session: AsyncSession, schema: str, topics: Topics, *envelopes: EventEnvelope
) -> None:
    """Queue `envelopes` for publishing, in order, once the surrounding transaction commits."""
    if not envelopes:
        return
    await session.execute(
        insert(outbox_table(schema))
        .values(
            [
                {
                    "event_id": envelope.id,
                    "topic": topics.name(envelope.payload().__class__),
                    "key": envelope.key,
                    "envelope": envelope.model_dump(mode="json"),
                }
                for envelope in envelopes
            ]
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    await session.execute(sa.select(sa.func.pg_notify(_channel(schema), "")))


class OutboxRelay:
    """Background publisher of one service's outbox."""

    def __init__(
        self,
        db: Database,
        broker: KafkaBroker,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 200,
        keep_published: timedelta = timedelta(hours=1),
    ) -> None:
        self.db = db
        self.broker = broker
        self.table = outbox_table(db.schema)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.keep_published = keep_published
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None

    async def start(self) -> None:
        self._listener = await asyncpg.connect(self.db.url.replace("+asyncpg", ""))
        await self._listener.add_listener(_channel(self.db.schema), self._on_notify)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.db.schema}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._listener:
            await self._listener.close()

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        last_cleanup = datetime.now(UTC)
        while True:
            try:
                while await self.relay_once() == self.batch_size:
                    pass
                if datetime.now(UTC) - last_cleanup > timedelta(minutes=5):
                    await self.delete_published()
                    last_cleanup = datetime.now(UTC)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(self.poll_interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows in order; returns how many were published."""
        t = self.table
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    sa.select(t.c.seq, t.c.topic, t.c.envelope)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                envelope = EventEnvelope.model_validate(row.envelope)
                await publish_raw(self.broker, row.topic, envelope)
            if rows:
                await self._mark_published(session, [r.seq for r in rows])
        return len(rows)

    async def _mark_published(self, session: AsyncSession, seqs: list[int]) -> None:
        t = self.table
        await session.execute(
            sa.update(t).where(t.c.seq.in_(seqs)).values(published_at=sa.func.now())
        )

    async def delete_published(self) -> None:
        t = self.table
        async with self.db.transaction() as session:
            await session.execute(
                sa.delete(t).where(t.c.published_at < datetime.now(UTC) - self.keep_published)
            )
