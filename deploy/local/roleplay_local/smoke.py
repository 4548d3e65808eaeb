"""`roleplay infra check`: one real round trip through each server.

Kafka: a topic of its own, one message produced and consumed back. PostgreSQL: `select 1` as
the project's user. MinIO: a bucket of its own, one object put and read back. Everything it
creates is removed afterwards.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from roleplay_local.infra import Endpoints


async def check_kafka(bootstrap_servers: str, timeout: float = 30.0) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"roleplay-check-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"hello", key=b"check")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            async with asyncio.timeout(timeout):
                record = await consumer.getone()
        finally:
            await consumer.stop()
        if record.value != b"hello":
            raise RuntimeError(f"Kafka gave back {record.value!r}")
    finally:
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def check_postgres(database_url: str) -> None:
    import asyncpg

    parts = urlsplit(database_url)
    conn = await asyncpg.connect(
        host=parts.hostname,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        database=parts.path.lstrip("/"),
        timeout=10,
    )
    try:
        if await conn.fetchval("select 1") != 1:
            raise RuntimeError("PostgreSQL: select 1 did not return 1")
    finally:
        await conn.close()


def check_minio(endpoint: str, access_key: str, secret_key: str, secure: bool) -> None:
    from minio import Minio

    client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure)
    bucket = f"roleplay-check-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    try:
        body = b"hello"
        client.put_object(bucket, "hello.txt", io.BytesIO(body), len(body))
        response = client.get_object(bucket, "hello.txt")
        try:
            if response.read() != body:
                raise RuntimeError("MinIO gave back another object")
        finally:
            response.close()
            response.release_conn()
        client.remove_object(bucket, "hello.txt")
    finally:
        client.remove_bucket(bucket)


def check_all(endpoints: Endpoints) -> dict[str, float]:
    """Run every check; returns the seconds each took (raises on the first failure)."""
    checks: dict[str, Callable[[], None]] = {
        "kafka": lambda: asyncio.run(check_kafka(endpoints.kafka_bootstrap_servers)),
        "postgres": lambda: asyncio.run(check_postgres(endpoints.database_url)),
        "minio": lambda: check_minio(
            endpoints.s3_endpoint,
            endpoints.s3_access_key,
            endpoints.s3_secret_key,
            endpoints.s3_secure,
        ),
    }
    took: dict[str, float] = {}
    for name, check in checks.items():
        started = time.monotonic()
        check()
        took[name] = time.monotonic() - started
    return took
