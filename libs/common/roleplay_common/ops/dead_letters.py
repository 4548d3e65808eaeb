"""Dead letters across the services' `dlq.<service>` topics: list, read, redrive.

A dead letter's id is the id of its `system.dead_lettered` envelope. Redrive republishes the
original envelope, unchanged (same event id, so consumers that did handle it dedupe), to the
topic it was read from. Each redrive is recorded on `ops.dlq.redrives` as a claim keyed by the
dead letter's id: the first claim on the partition wins, so a dead letter is redriven at most
once, even by two operators at the same moment; a second redrive is refused
(`AlreadyRedriven`). A claim whose republish failed is released, and may be tried again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from roleplay_common.broker import Topics, ensure_topics, envelope_headers
from roleplay_common.events import DeadLetterRedriven, EventDeadLettered, EventEnvelope
from roleplay_common.ops.topic_reader import Record, kafka_producer, list_topics, read_topic
from roleplay_common.settings import KafkaSettings


class DeadLetterNotFound(LookupError):
    pass


class AlreadyRedriven(RuntimeError):
    pass


@dataclass(frozen=True)
class DeadLetter:
    id: str
    service: str
    record: EventDeadLettered
    dead_lettered_at: datetime
    partition: int
    offset: int
    headers: dict[str, str]
    redriven: bool

    @property
    def original(self) -> EventEnvelope:
        return EventEnvelope.model_validate(self.record.original)

    def summary(self) -> dict[str, object]:
        """The JSON view (admin API and `--json`)."""
        original = self.record.original
        return {
            "id": self.id,
            "service": self.service,
            "consumer": self.record.consumer,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "event_id": str(original.get("id", "")),
            "event_type": str(original.get("type", "")),
            "key": str(original.get("key", "")),
            "source_topic": self.record.source_topic,
            "source_partition": self.record.source_partition,
            "source_offset": self.record.source_offset,
            "error_type": self.record.error_type,
            "error": self.record.error,
            "tries": self.record.attempts,
            "redriven": self.redriven,
        }


def dlq_topics(topics: Topics, names: list[str], service: str | None = None) -> dict[str, str]:
    """Service → its dead-letter topic, among the topics that exist."""
    prefix = topics.dead_letter("")
    found = {n[len(prefix) :]: n for n in names if n.startswith(prefix) and len(n) > len(prefix)}
    return {s: n for s, n in sorted(found.items()) if service is None or s == service}


async def list_dead_letters(
    settings: KafkaSettings,
    *,
    service: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[DeadLetter]:
    """Every dead letter (of `service`), oldest first."""
    topics = Topics(settings.topic_prefix)
    claimed = await redriven_ids(settings)
    found: list[DeadLetter] = []
    for name, topic in dlq_topics(topics, await list_topics(settings), service).items():
        async for record in read_topic(settings, topic, progress=progress):
            letter = _dead_letter(name, record, claimed)
            if letter is not None:
                found.append(letter)
    found.sort(key=lambda d: (d.dead_lettered_at, d.service, d.partition, d.offset))
    return found


async def find_dead_letter(
    settings: KafkaSettings, dead_letter_id: str, *, service: str | None = None
) -> DeadLetter:
    for letter in await list_dead_letters(settings, service=service):
        if letter.id == dead_letter_id:
            return letter
    raise DeadLetterNotFound(dead_letter_id)


def _dead_letter(service: str, record: Record, claimed: set[str]) -> DeadLetter | None:
    envelope = record.envelope()
    if envelope is None or envelope.type != EventDeadLettered.event_type:
        return None
    payload = envelope.payload()
    assert isinstance(payload, EventDeadLettered)
    return DeadLetter(
        id=str(envelope.id),
        service=service,
        record=payload,
        dead_lettered_at=envelope.occurred_at,
        partition=record.partition,
        offset=record.offset,
        headers=record.headers,
        redriven=str(envelope.id) in claimed,
    )


def _owners(records: list[Record]) -> dict[str, str]:
    """Dead letter id → the claim that holds it, from the redrive log in order."""
    owners: dict[str, str] = {}
    for record in records:
        envelope = record.envelope()
        if envelope is None or envelope.type != DeadLetterRedriven.event_type:
            continue
        claim = envelope.payload()
        assert isinstance(claim, DeadLetterRedriven)
        if claim.released:
            if owners.get(claim.dead_letter_id) == claim.claim_id:
                del owners[claim.dead_letter_id]
        else:
            owners.setdefault(claim.dead_letter_id, claim.claim_id)
    return owners


async def redriven_ids(settings: KafkaSettings) -> set[str]:
    topic = Topics(settings.topic_prefix).name(DeadLetterRedriven)
    if topic not in await list_topics(settings):
        return set()
    return set(_owners([r async for r in read_topic(settings, topic)]))


async def redrive(
    settings: KafkaSettings, dead_letter_id: str, *, by: str, letter: DeadLetter | None = None
) -> DeadLetter:
    """Republish a dead letter's original to its source topic, once; returns the letter.
    `letter`: the dead letter as just listed, which saves reading the topics again.

    `DeadLetterNotFound`, or `AlreadyRedriven` when it was (or is being) redriven."""
    if letter is None or letter.id != dead_letter_id:
        letter = await find_dead_letter(settings, dead_letter_id)
    if letter.redriven:
        raise AlreadyRedriven(dead_letter_id)
    topics = Topics(settings.topic_prefix)
    log_topic = topics.name(DeadLetterRedriven)
    await ensure_topics(settings, [log_topic])
    claim_id = str(uuid.uuid4())
    async with kafka_producer(settings) as producer:

        async def mark(released: bool) -> tuple[int, int]:
            claim = EventEnvelope.wrap(
                DeadLetterRedriven(
                    dead_letter_id=dead_letter_id, claim_id=claim_id, by=by, released=released
                ),
                producer="ops",
            )
            sent = await producer.send_and_wait(
                log_topic,
                claim.model_dump_json().encode(),
                key=claim.key.encode(),
                headers=_kafka_headers(envelope_headers(claim)),
            )
            return sent.partition, sent.offset

        partition, offset = await mark(released=False)
        log = [
            r async for r in read_topic(settings, log_topic, partitions={partition}, end=offset + 1)
        ]
        if _owners(log).get(dead_letter_id) != claim_id:
            raise AlreadyRedriven(dead_letter_id)
        original = letter.original
        try:
            await producer.send_and_wait(
                letter.record.source_topic,
                original.model_dump_json().encode(),
                key=original.key.encode(),
                headers=_kafka_headers(
                    {**envelope_headers(original), "redriven-from": dead_letter_id}
                ),
            )
        except BaseException:
            await mark(released=True)
            raise
    return letter


def _kafka_headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]
