"""Scene consistency as the seed meant it, checked at the provider stand-in (which records what
it was sent): the character's method (reference images, a locked seed, or both), up to three
references with the portraits, the catalog's model for each mode, and i2i from a kept scene
once its workspace copy has expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from roleplay_common.events import (
    CharacterCard,
    LibraryAssetDeleted,
    LibraryAssetSaved,
    ReferenceImage,
    StoredImage,
)
from roleplay_common.service import Runtime
from roleplay_common.storage import PORTRAITS, USER_LIBRARY, WORKSPACE_TEMP
from roleplay_scenes.domain.consistency import character_seed
from roleplay_scenes.jobs import JobRunner
from roleplay_scenes.store import WorkspaceAsset
from tests.scenes.integration.conftest import (
    route,
    runner,
    scene_command,
    scene_of,
    sent_to_fal,
    wait_job,
)


async def generate(
    jobs: JobRunner, standin: httpx.AsyncClient, url: str, **overrides: Any
) -> tuple[Any, dict[str, Any]]:
    """Run one scene job to its end; the job and the fal request the stand-in received."""
    command, envelope = scene_command(url, **overrides)
    assert await jobs.accept(command, envelope)
    jobs.schedule(command, envelope)
    job = await wait_job(jobs.runtime, command.job_id, until=("completed", "failed"))
    sent = await sent_to_fal(standin, command.prompt or "")
    return job, (sent[-1] if sent else {})


async def portrait(runtime: Runtime, role: str) -> ReferenceImage:
    key = f"portraits-test/{uuid.uuid4()}.png"
    await runtime.storage.put(PORTRAITS, key, b"\x89PNG portrait", "image/png")
    return ReferenceImage(role=role, bucket=PORTRAITS, key=key)  # type: ignore[arg-type]


def people(method: str | None) -> dict[str, Any]:
    user, conversation = uuid.uuid4(), uuid.uuid4()
    character = CharacterCard(id=uuid.uuid4(), name="Mira", consistency_method=method)
    persona = CharacterCard(id=uuid.uuid4(), role="user", name="Ash")
    return {
        "user_id": user,
        "conversation_id": conversation,
        "character": character,
        "persona": persona,
    }


async def test_seed_lock_sends_the_characters_seed_and_no_reference(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    who = people("seed_locked")
    refs = [await portrait(runtime, "character")]
    job, sent = await generate(jobs, standin, scenes_standin, references=refs, **who)
    assert job.status == "completed"
    body = sent["body"]
    assert body["seed"] == character_seed(who["character"].id)
    assert "image_url" not in body and "image_urls" not in body
    assert (await scene_of(runtime, job.scene_id)).seed == body["seed"]
    _, sent_again = await generate(jobs, standin, scenes_standin, references=refs, **who)
    assert sent_again["body"]["seed"] == body["seed"]  # locked: the same on every scene
    await jobs.http.aclose()


async def test_reference_method_sends_up_to_three_references_with_the_portraits(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    who = people("i2i_reference")
    refs = [await portrait(runtime, "character"), await portrait(runtime, "persona")]
    first, sent = await generate(jobs, standin, scenes_standin, references=refs, **who)
    assert first.status == "completed"
    assert refs[0].key in sent["body"]["image_url"] and "strength" in sent["body"]
    assert "seed" not in sent["body"]  # the persona shows only for `both_characters`

    second, sent = await generate(
        jobs, standin, scenes_standin, mode="i2i", style="both_characters", references=refs, **who
    )
    assert second.status == "completed"
    urls = sent["body"]["image_urls"]
    assert len(urls) == 3 and "strength" not in sent["body"]
    assert str(first.scene_id) in urls[0]
    assert refs[0].key in urls[1] and refs[1].key in urls[2]
    await jobs.http.aclose()


async def test_hybrid_sends_both_and_no_method_keeps_continuity_only(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    hybrid = people("hybrid")
    refs = [await portrait(runtime, "character")]
    _, sent = await generate(jobs, standin, scenes_standin, references=refs, **hybrid)
    assert sent["body"]["seed"] == character_seed(hybrid["character"].id)
    assert refs[0].key in sent["body"]["image_url"]

    plain = people(None)
    first, sent = await generate(jobs, standin, scenes_standin, references=refs, **plain)
    assert "seed" not in sent["body"] and "image_url" not in sent["body"]
    _, sent = await generate(jobs, standin, scenes_standin, mode="i2i", references=refs, **plain)
    assert str(first.scene_id) in sent["body"]["image_url"] and "image_urls" not in sent["body"]
    await jobs.http.aclose()


async def test_each_mode_runs_on_its_catalog_task_and_a_t2i_fallback_on_t2i_models(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    who = people(None)
    t2i = route(scenes_standin)
    i2i = route(scenes_standin, "standin-image-i2i", "i2i")
    edit = route(scenes_standin, "standin-image-edit", "modification")
    # No scene to continue: the i2i runs as t2i, on the t2i model first.
    fallback, sent = await generate(
        jobs, standin, scenes_standin, mode="i2i", routes=[i2i, t2i], **who
    )
    assert fallback.status == "completed" and fallback.model == "standin-image"
    assert (await scene_of(runtime, fallback.scene_id)).generation_mode == "t2i"
    continued, sent = await generate(
        jobs, standin, scenes_standin, mode="i2i", routes=[i2i, t2i], **who
    )
    assert continued.model == "standin-image-i2i" and sent["model"] == "standin-image-i2i"
    changed, sent = await generate(
        jobs,
        standin,
        scenes_standin,
        mode="modification",
        modification={"preset": "weather", "intensity": 0.5},
        routes=[edit, t2i],
        **who,
    )
    assert changed.model == "standin-image-edit" and sent["model"] == "standin-image-edit"
    await jobs.http.aclose()


async def test_i2i_from_a_kept_scene_reads_the_library_copy_after_workspace_expiry(
    runtime: Runtime, standin: httpx.AsyncClient, scenes_standin: str
) -> None:
    await standin.post("/_standin/config", json={"image_job_ms": 50})
    jobs = runner(runtime, "a")
    who = people(None)
    kept, _ = await generate(jobs, standin, scenes_standin, **who)
    scene = await scene_of(runtime, kept.scene_id)
    assert scene.image_key and scene.thumbnail_key
    library_key = f"{who['user_id']}/scenes/{uuid.uuid4()}.png"
    await runtime.storage.copy(WORKSPACE_TEMP, scene.image_key, USER_LIBRARY, library_key)
    asset_id = uuid.uuid4()
    await jobs.record_kept(
        LibraryAssetSaved(
            asset_id=asset_id,
            user_id=who["user_id"],
            conversation_id=who["conversation_id"],
            character_id=who["character"].id,
            scene_id=kept.scene_id,
            image=StoredImage(
                bucket=USER_LIBRARY, key=library_key, thumbnail_key=f"{library_key}.thumb"
            ),
        )
    )
    async with runtime.db.transaction() as session:  # the workspace copy's 24 h are over
        await session.execute(
            sa.update(WorkspaceAsset)
            .where(col(WorkspaceAsset.scene_id) == kept.scene_id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    await jobs.sweep_expired()
    assert not await runtime.storage.exists(WORKSPACE_TEMP, scene.image_key)

    continued, sent = await generate(
        jobs, standin, scenes_standin, mode="i2i", previous_scene_id=kept.scene_id, **who
    )
    assert continued.status == "completed", continued.error_message
    assert library_key in sent["body"]["image_url"]
    assert (await scene_of(runtime, continued.scene_id)).previous_scene_id == kept.scene_id

    await jobs.forget_kept(
        LibraryAssetDeleted(asset_id=asset_id, user_id=who["user_id"])
    )  # deleted from the library: nothing is left to continue from
    gone, _ = await generate(
        jobs, standin, scenes_standin, mode="i2i", previous_scene_id=kept.scene_id, **who
    )
    assert gone.status == "failed" and gone.error_code == "previous_scene_expired"
    await jobs.http.aclose()
