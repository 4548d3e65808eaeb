"""Which handler errors a consumer waits out (transient) and which it dead-letters (poison)."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy.exc
from aiokafka import errors as kafka_errors
from pydantic import BaseModel, ValidationError

from roleplay_common.failures import transient_cause, transient_delay


class Strict(BaseModel):
    n: int


def validation_error() -> ValidationError:
    try:
        Strict.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError


def wrapped(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (sqlalchemy.exc.OperationalError("select 1", {}, Exception("gone")), "database"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), "database"),
        (kafka_errors.KafkaConnectionError(), "broker"),
        (kafka_errors.KafkaTimeoutError(), "broker"),
        (TimeoutError(), "network"),
        (wrapped(RuntimeError("turn failed"), ConnectionRefusedError()), "network"),
    ],
)
def test_infrastructure_errors_are_transient(error: BaseException, cause: str) -> None:
    assert transient_cause(error) == cause


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        KeyError("missing"),
        validation_error(),
        PermissionError("denied"),
        FileNotFoundError("gone"),
        asyncpg.exceptions.UniqueViolationError("duplicate"),
    ],
)
def test_other_errors_are_poison(error: BaseException) -> None:
    assert transient_cause(error) is None


def test_the_transient_delay_doubles_and_is_capped() -> None:
    delays = [transient_delay(n) for n in range(10)]
    assert delays[:4] == [0.2, 0.4, 0.8, 1.6]
    assert max(delays) == 30.0
    assert delays == sorted(delays)
