"""`roleplay events`: follow the event log, or find one event with its causation chain.

`show` reads every topic of the deployment once (the operator's tool, not a request path):
the event, the events that caused it (following `causation_id` up to the first), and the
events it caused, transitively.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from roleplay_common.broker import Topics
from roleplay_common.events import EventEnvelope, registered_events
from roleplay_common.ops.replay import ANY_EVENT, EventFilter
from roleplay_common.ops.topic_reader import list_topics, read_topic
from roleplay_common.settings import KafkaSettings


@dataclass(frozen=True)
class Located:
    """An envelope and where it is in the log."""

    envelope: EventEnvelope
    topic: str
    partition: int
    offset: int

    def line(self) -> str:
        e = self.envelope
        cause = f" ← {e.causation_id}" if e.causation_id else ""
        return (
            f"{e.occurred_at.isoformat(timespec='milliseconds')} {e.type} v{e.version} "
            f"{e.id}{cause} key={e.key} by={e.producer} "
            f"@{self.topic}/{self.partition}/{self.offset}"
        )


@dataclass(frozen=True)
class Chain:
    event: Located
    causes: list[Located]
    """From the event's direct cause up to the first event of the chain."""
    effects: list[Located]
    """Events caused by it, directly or not, in log time order."""


def deployment_topics(settings: KafkaSettings, names: list[str]) -> list[str]:
    """This deployment's topics: a registered event's topic or a dead-letter topic, with the
    deployment's prefix (so an empty prefix does not take in test runs' prefixed topics)."""
    prefix = Topics(settings.topic_prefix).prefix
    known = {cls.topic for cls in registered_events()}
    return [
        n
        for n in names
        if n.startswith(prefix) and ((base := n[len(prefix) :]) in known or base.startswith("dlq."))
    ]


async def find_with_chain(
    settings: KafkaSettings,
    event_id: str,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> Chain | None:
    """The event with `event_id` and its causation chain, or None when no topic holds it."""
    by_id: dict[str, Located] = {}
    children: dict[str, list[str]] = {}
    for topic in deployment_topics(settings, await list_topics(settings)):
        report = (lambda d, t, name=topic: progress(name, d, t)) if progress else None
        async for record in read_topic(settings, topic, progress=report):
            envelope = record.envelope()
            if envelope is None:
                continue
            located = Located(envelope, record.topic, record.partition, record.offset)
            by_id.setdefault(str(envelope.id), located)
            if envelope.causation_id is not None:
                children.setdefault(str(envelope.causation_id), []).append(str(envelope.id))
    found = by_id.get(event_id)
    if found is None:
        return None
    causes: list[Located] = []
    cause = found.envelope.causation_id
    while cause is not None and (parent := by_id.get(str(cause))) and parent not in causes:
        causes.append(parent)
        cause = parent.envelope.causation_id
    effects: list[Located] = []
    pending, seen = list(children.get(event_id, [])), {event_id}
    while pending:
        child = pending.pop()
        if child in seen or child not in by_id:
            continue
        seen.add(child)
        effects.append(by_id[child])
        pending.extend(children.get(child, []))
    effects.sort(key=lambda x: x.envelope.occurred_at)
    return Chain(found, causes, effects)


async def tail(
    settings: KafkaSettings,
    topics: list[str] | None = None,
    *,
    only: EventFilter = ANY_EVENT,
) -> AsyncIterator[Located]:
    """Follow `topics` (default: every topic of the deployment) from now on."""
    prefix = Topics(settings.topic_prefix)
    names = [prefix.name(t) for t in topics] if topics else None
    if names is None:
        names = deployment_topics(settings, await list_topics(settings))
    consumer = AIOKafkaConsumer(
        *names,
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    await consumer.start()
    try:
        async for message in consumer:
            try:
                envelope = EventEnvelope.model_validate_json(message.value or b"")
            except ValueError:
                continue
            if only.matches(envelope):
                yield Located(envelope, message.topic, message.partition, message.offset)
    finally:
        try:
            await consumer.stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
