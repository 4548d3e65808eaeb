"""Where a scene's reference images come from, as URLs a provider can fetch.

The scene it continues: its workspace image, or — once that has expired — the copy kept in
the library (the scenes service follows `library.asset.saved` / `.deleted` for it). The
character's and persona's portraits: signed from storage when the command names an object,
else the URL the character gives (an absolute `http(s)` one only).
"""

from __future__ import annotations

from datetime import timedelta

from roleplay_common.events import ReferenceImage
from roleplay_common.service import Runtime
from roleplay_common.storage import WORKSPACE_TEMP
from roleplay_scenes.store import Scene

TTL = timedelta(minutes=60)


async def scene_image_url(runtime: Runtime, scene: Scene) -> str | None:
    """The scene's image: the workspace copy, else the library's, else None (expired)."""
    if scene.image_key and await runtime.storage.exists(WORKSPACE_TEMP, scene.image_key):
        return await runtime.storage.signed_url(WORKSPACE_TEMP, scene.image_key, ttl=TTL)
    if (
        scene.kept_bucket
        and scene.kept_key
        and await runtime.storage.exists(scene.kept_bucket, scene.kept_key)
    ):
        return await runtime.storage.signed_url(scene.kept_bucket, scene.kept_key, ttl=TTL)
    return None


async def portrait_url(runtime: Runtime, reference: ReferenceImage) -> str | None:
    if reference.bucket and reference.key:
        if not await runtime.storage.exists(reference.bucket, reference.key):
            return None
        return await runtime.storage.signed_url(reference.bucket, reference.key, ttl=TTL)
    if reference.url and reference.url.startswith(("http://", "https://")):
        return reference.url
    return None
