"""When a local worker's cached health may be trusted, and what counts as healthy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from roleplay_gateway.catalog.routing import fresh_and_healthy, usable
from roleplay_gateway.catalog.store import Provider
from roleplay_gateway.catalog.worker_health import _problem

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def checked(ago: float, *, healthy: bool = True, **extra: object) -> dict[str, object]:
    return {
        "is_healthy": healthy,
        "last_checked": (NOW - timedelta(seconds=ago)).isoformat(),
        **extra,
    }


def test_a_recent_passing_check_is_trusted_for_two_minutes() -> None:
    assert fresh_and_healthy(checked(10), NOW)
    assert fresh_and_healthy(checked(119), NOW)
    assert not fresh_and_healthy(checked(121), NOW)
    assert not fresh_and_healthy(checked(1, healthy=False), NOW)
    assert not fresh_and_healthy(None, NOW)
    assert not fresh_and_healthy({}, NOW)
    assert not fresh_and_healthy({"is_healthy": True, "last_checked": "yesterday"}, NOW)


def test_the_checker_may_extend_trust_with_valid_until() -> None:
    later = (NOW + timedelta(minutes=5)).isoformat()
    earlier = (NOW - timedelta(seconds=1)).isoformat()
    assert fresh_and_healthy(checked(200, valid_until=later), NOW)
    assert not fresh_and_healthy(checked(5, valid_until=earlier), NOW)


def test_only_local_workers_depend_on_health() -> None:
    remote = Provider(name="remote", kind="openai_compatible", base_url="https://x.invalid")
    worker = Provider(name="gpu", kind="local_worker", base_url="http://127.0.0.1:1")
    assert usable(remote, {})
    assert not usable(worker, {})
    fresh = {"gpu": checked(0)}
    fresh["gpu"]["last_checked"] = datetime.now(UTC).isoformat()
    assert usable(worker, fresh)
    worker.is_active = False
    remote.is_active = False
    assert not usable(worker, fresh) and not usable(remote, {})


def test_a_health_answer_is_healthy_when_2xx_and_not_saying_otherwise() -> None:
    def answer(status: int, body: object = None, text: str | None = None) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    assert _problem(answer(200, {"status": "ok"})) is None
    assert _problem(answer(204, text="")) is None
    assert _problem(answer(200, text="alive")) is None
    assert _problem(answer(200, ["ok"])) is None
    assert _problem(answer(200, {"status": "error"})) == "status error"
    assert _problem(answer(200, {"status": "DOWN"})) == "status DOWN"
    assert _problem(answer(503, {"status": "ok"})) == "HTTP 503"
