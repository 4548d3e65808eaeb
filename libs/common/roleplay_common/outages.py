"""Telling a dependency that is down from a bug.

A request that fails because PostgreSQL or Kafka does not answer is not the client's fault and
not ours either: it deserves `503` with `Retry-After`, never a 500. The errors that say so come
in many wrappers (SQLAlchemy around the asyncpg adapter around asyncpg around an `OSError`), so
`outage_of` walks an error's chain and names the dependency when it finds one.
"""

from __future__ import annotations

from typing import Literal

import asyncpg
import sqlalchemy.exc
from aiokafka import errors as kafka_errors

Dependency = Literal["database", "broker", "network"]

CONNECTION_EXCEPTIONS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    kafka_errors.KafkaError,
    OSError,
)
"""Every class `outage_of` may recognise; the HTTP error handlers are installed for these."""

_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.LockNotAvailableError,  # `lock_timeout`: a lock held elsewhere, for now
)
_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaUnavailableError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.ProducerClosed,
)
_FILESYSTEM_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError)


def outage_of(exc: BaseException) -> Dependency | None:
    """The dependency whose outage `exc` reports, or None when it reports something else."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 16:
            continue
        seen.add(id(current))
        if found := _classify(current):
            return found
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                orig if isinstance(orig, BaseException) else None,
                current.__cause__,
                current.__context__,
            ]
        )
    return None


def _classify(exc: BaseException) -> Dependency | None:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return "database"
    if isinstance(exc, _DATABASE_ERRORS):
        return "database"
    if isinstance(exc, _BROKER_ERRORS) or (
        isinstance(exc, kafka_errors.KafkaError) and exc.retriable
    ):
        return "broker"
    if isinstance(exc, OSError) and not isinstance(exc, _FILESYSTEM_ERRORS):
        return _raised_by(exc)
    return None


_CLIENT_LIBRARIES: dict[str, Dependency] = {
    "asyncpg": "database",
    "sqlalchemy": "database",
    "aiokafka": "broker",
    "faststream": "broker",
}


def _raised_by(exc: BaseException) -> Dependency:
    """Whose connection a bare `OSError` (refused, reset) was on: the client library deepest
    in its traceback, e.g. asyncpg reconnecting inside SQLAlchemy's pool."""
    found: Dependency = "network"
    tb = exc.__traceback__
    while tb is not None:
        package = str(tb.tb_frame.f_globals.get("__name__", "")).split(".", 1)[0]
        found = _CLIENT_LIBRARIES.get(package, found)
        tb = tb.tb_next
    return found
