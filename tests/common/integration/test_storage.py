"""Object storage against real MinIO: put, get, server-side copy, signed URLs that expire."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest

from roleplay_common.settings import StorageSettings
from roleplay_common.storage import USER_LIBRARY, WORKSPACE_TEMP, ObjectNotFoundError, ObjectStorage
from tests.conftest import IsolatedEnv


@pytest.fixture
async def storage(test_env: IsolatedEnv) -> ObjectStorage:
    store = ObjectStorage(StorageSettings())
    await store.ensure_buckets()
    await store.ensure_buckets()  # idempotent
    return store


async def test_put_get_copy_and_delete(storage: ObjectStorage) -> None:
    key = f"scenes/{uuid.uuid4()}.png"
    data = b"\x89PNG fake bytes " + uuid.uuid4().bytes
    await storage.put(WORKSPACE_TEMP, key, data, "image/png")

    got = await storage.get(WORKSPACE_TEMP, key)
    assert got.data == data
    assert got.content_type == "image/png"

    await storage.copy(WORKSPACE_TEMP, key, USER_LIBRARY, f"kept/{key}")
    assert (await storage.get(USER_LIBRARY, f"kept/{key}")).data == data

    await storage.delete(WORKSPACE_TEMP, key)
    assert not await storage.exists(WORKSPACE_TEMP, key)
    assert await storage.exists(USER_LIBRARY, f"kept/{key}")
    with pytest.raises(ObjectNotFoundError):
        await storage.get(WORKSPACE_TEMP, key)
    with pytest.raises(ObjectNotFoundError):
        await storage.copy(WORKSPACE_TEMP, key, USER_LIBRARY, "nowhere")


async def test_a_signed_url_works_then_expires(storage: ObjectStorage) -> None:
    key = f"{uuid.uuid4()}.txt"
    await storage.put(USER_LIBRARY, key, b"hello", "text/plain")
    long_lived = await storage.signed_url(USER_LIBRARY, key)
    # X-Amz-Date is whole seconds: a TTL of 3 s stays valid for at least 2 s after signing.
    short_lived = await storage.signed_url(USER_LIBRARY, key, ttl=timedelta(seconds=3))
    async with httpx.AsyncClient() as client:
        assert (await client.get(short_lived)).status_code == 200
        assert (await client.get(long_lived)).content == b"hello"
        await asyncio.sleep(4.1)  # the subject of this test is time itself
        expired = await client.get(short_lived)
        assert expired.status_code == 403
        assert b"expired" in expired.content.lower()
        assert (await client.get(long_lived)).status_code == 200
        unsigned = await client.get(long_lived.split("?")[0])
        assert unsigned.status_code == 403
