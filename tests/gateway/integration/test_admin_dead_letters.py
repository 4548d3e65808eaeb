"""`GET /v1/admin/dead-letters` and `POST /v1/admin/dead-letters/{id}/redrive`, on the
gateway's own dead letters (pings it cannot read), through real Kafka."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from roleplay_common.events import EventEnvelope, Ping
from tests.gateway.conftest import Caller, Gateway, NewCaller, assert_error
from tests.support.kafka import producer

PATH = "/v1/admin/dead-letters"


async def dead_letters_of(admin: Caller, events: set[str]) -> list[dict[str, Any]]:
    """Wait until the gateway dead-lettered every event of `events`; their dead letters."""
    async with asyncio.timeout(30):
        while True:
            response = await admin.get(PATH, params={"service": "gateway", "limit": 100})
            assert response.status_code == 200, response.text
            found = [d for d in response.json()["items"] if d["event_id"] in events]
            if {d["event_id"] for d in found} == events:
                return found
            await asyncio.sleep(0.3)


async def test_dead_letters_are_listed_paged_and_redriven_once(
    gateway: Gateway, admin: Caller, new_user: NewCaller
) -> None:
    unreadable = [
        EventEnvelope(
            type=Ping.event_type, producer="tests", key=f"k{i}", correlation_id="c", data={}
        )
        for i in range(2)
    ]
    async with producer() as p:
        for envelope in unreadable:
            await p.send(Ping.topic, envelope)
    letters = await dead_letters_of(admin, {str(e.id) for e in unreadable})
    letter = letters[0]
    assert letter["service"] == "gateway"
    assert letter["error_type"] == "ValidationError"
    assert letter["source_topic"].endswith("system.ping")
    assert letter["redriven"] is False

    first = await admin.get(PATH, params={"service": "gateway", "limit": 1})
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    second = await admin.get(
        PATH, params={"service": "gateway", "limit": 1, "cursor": page["next_cursor"]}
    )
    assert second.status_code == 200
    assert second.json()["items"][0]["id"] != page["items"][0]["id"]

    redriven = await admin.post(f"{PATH}/{letter['id']}/redrive")
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["redriven"] is True
    assert_error(await admin.post(f"{PATH}/{letter['id']}/redrive"), 409, "already_redriven")
    letters = await dead_letters_of(admin, {letter["event_id"]})
    assert any(d["id"] == letter["id"] and d["redriven"] for d in letters)


async def test_dead_letter_routes_refuse_what_they_should(
    gateway: Gateway, admin: Caller, new_user: NewCaller
) -> None:
    user = await new_user()
    assert_error(await user.get(PATH), 403, "forbidden")
    assert_error(await user.post(f"{PATH}/{uuid.uuid4()}/redrive"), 403, "forbidden")
    assert_error(await gateway.client.get(PATH), 401)
    assert_error(await admin.post(f"{PATH}/{uuid.uuid4()}/redrive"), 404, "not_found")
    assert_error(await admin.post(f"{PATH}/not-an-id/redrive"), 422)
    assert_error(await admin.get(PATH, params={"cursor": "nonsense!"}), 400, "invalid_cursor")
    assert_error(await admin.get(PATH, params={"service": "Bad Name"}), 422)
    assert_error(await admin.get(PATH, params={"limit": 0}), 422)
