"""Where the test servers come from: given endpoints, or testcontainers when Docker answers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from roleplay_local.infra import Endpoints


def endpoints_from_env() -> Endpoints | None:
    """All three endpoints given by the environment, or None."""
    kafka = os.environ.get("ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("ROLEPLAY_DATABASE_URL")
    s3 = os.environ.get("ROLEPLAY_S3_ENDPOINT")
    if not (kafka and database and s3):
        return None
    return Endpoints(
        kafka_bootstrap_servers=kafka,
        database_url=database,
        s3_endpoint=s3,
        s3_access_key=os.environ.get("ROLEPLAY_S3_ACCESS_KEY", "roleplay"),
        s3_secret_key=os.environ.get("ROLEPLAY_S3_SECRET_KEY", "roleplay-secret"),
        s3_secure=os.environ.get("ROLEPLAY_S3_SECURE", "false").lower() == "true",
    )


def docker_answers() -> bool:
    if os.environ.get("ROLEPLAY_TESTS_NO_DOCKER"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:
        return False
    return True


@contextmanager
def endpoints_from_testcontainers() -> Iterator[Endpoints | None]:
    """Kafka, PostgreSQL and MinIO containers when a Docker daemon answers, else None."""
    if not docker_answers():
        yield None
        return
    from testcontainers.kafka import KafkaContainer
    from testcontainers.minio import MinioContainer
    from testcontainers.postgres import PostgresContainer

    with ExitStack() as stack:
        kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
        postgres = stack.enter_context(
            PostgresContainer("postgres:15", username="roleplay", password="roleplay")
        )
        minio = stack.enter_context(MinioContainer())
        config = minio.get_config()
        yield Endpoints(
            kafka_bootstrap_servers=kafka.get_bootstrap_server(),
            database_url=postgres.get_connection_url(driver="asyncpg"),
            s3_endpoint=config["endpoint"],
            s3_access_key=config["access_key"],
            s3_secret_key=config["secret_key"],
        )
