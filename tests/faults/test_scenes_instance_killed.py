"""`kill -9` of one of two scenes instances mid-job: every job still completes, once.

Real processes (the stand-in, a gateway, a chat instance, two scenes instances) on a
database, topics and buckets of their own. People ask for scene images while the stand-in's
fal queue takes seconds per image; both scenes instances hold submitted jobs when one is
killed. The survivor takes its jobs over when their lease runs out: it polls the provider
request the dead instance had submitted (or submits again when there was none).
Counted: jobs completed, failed, still unfinished, taken over, fal submissions beyond one per
job, scenes without exactly one image, clients that missed progress or completion on the
conversation event stream.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from roleplay_local.infra import Endpoints
from tests.conftest import IsolatedEnv, isolated_env
from tests.faults.clients import configure_standin, new_conversations, new_user
from tests.faults.system import real_system

JOBS = 8
ENDED = ("completed", "failed", "cancelled")


async def _follow_feed(
    client: httpx.AsyncClient,
    conversation: str,
    headers: dict[str, str],
    seen: list[tuple[str, dict[str, Any]]],
) -> None:
    """The conversation event stream until a scene ends on it, resumed when dropped."""
    last: str | None = None
    while not any(name in ("scene.completed", "scene.failed") for name, _ in seen):
        resumed = {**headers, "Accept": "text/event-stream"}
        if last is not None:
            resumed["Last-Event-ID"] = last
        try:
            async with client.stream(
                "GET", f"/v1/conversations/{conversation}/events", headers=resumed
            ) as response:
                name = ""
                async for line in response.aiter_lines():
                    if line.startswith("id:"):
                        last = line[3:].strip()
                    elif line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        seen.append((name, json.loads(line[5:])))
                        if name in ("scene.completed", "scene.failed"):
                            return
        except httpx.HTTPError:
            await asyncio.sleep(0.3)


async def _jobs(env: IsolatedEnv, job_ids: list[str]) -> list[asyncpg.Record]:
    database = await asyncpg.connect(
        env.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        return list(
            await database.fetch(
                "select id::text, status, lease_owner, attempts, provider_handle is not null "
                "as submitted from scenes.scene_jobs where id::text = any($1::text[])",
                job_ids,
            )
        )
    finally:
        await database.close()


async def _images_per_scene(env: IsolatedEnv, scene_ids: list[str]) -> Counter[str]:
    database = await asyncpg.connect(
        env.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        rows = await database.fetch(
            "select scene_id::text as scene, count(*) as n from scenes.workspace_assets "
            "where scene_id::text = any($1::text[]) and key not like '%thumb%' group by scene_id",
            scene_ids,
        )
        return Counter({row["scene"]: row["n"] for row in rows})
    finally:
        await database.close()


async def test_a_killed_scenes_instance_loses_no_job(endpoints: Endpoints, tmp_path: Path) -> None:
    async with (
        isolated_env(endpoints) as env,
        real_system(
            env,
            tmp_path,
            ("standin", "chat", "scenes_a", "scenes_b", "gateway"),
            extra={"SCENES_LEASE_SECONDS": "3"},
        ) as system,
    ):
        standin = system["standin"].url
        # Each image takes 8 s in the fal queue: every job is submitted and waiting when the
        # instance is killed.
        await configure_standin(standin, image_job_ms=8000)
        async with httpx.AsyncClient(base_url=system["gateway"].url, timeout=60) as client:
            headers = await new_user(client)
            conversations = await new_conversations(client, headers, JOBS)
            feeds: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in conversations]
            following = [
                asyncio.create_task(_follow_feed(client, c, headers, seen))
                for c, seen in zip(conversations, feeds, strict=True)
            ]
            jobs: list[dict[str, str]] = []
            for conversation in conversations:
                asked = await client.post(
                    f"/v1/conversations/{conversation}/scenes",
                    json={"mode": "t2i", "prompt": "the harbor at night, lanterns on the water"},
                    headers=headers,
                )
                assert asked.status_code == 202, asked.text
                jobs.append(asked.json())
            job_ids = [job["job_id"] for job in jobs]
            async with asyncio.timeout(60):
                while True:
                    rows = await _jobs(env, job_ids)
                    if len(rows) == JOBS and all(row["submitted"] for row in rows):
                        break
                    await asyncio.sleep(0.2)
            owners = Counter(row["lease_owner"] for row in rows)
            system["scenes_a"].kill()

            ended: dict[str, dict[str, Any]] = {}
            try:
                async with asyncio.timeout(90):
                    while len(ended) < JOBS:
                        for job_id in job_ids:
                            if job_id in ended:
                                continue
                            job = (await client.get(f"/v1/jobs/{job_id}", headers=headers)).json()
                            if job["status"] in ENDED:
                                ended[job_id] = job
                        await asyncio.sleep(0.3)
            except TimeoutError:
                pass
            _, pending = await asyncio.wait(following, timeout=30)
            for task in pending:
                task.cancel()
            await asyncio.gather(*following, return_exceptions=True)

            rows = await _jobs(env, job_ids)
            taken_over = sum(row["attempts"] > 1 for row in rows)
            images = await _images_per_scene(env, [job["scene_id"] for job in jobs])
            fal = [
                r
                for r in (
                    await httpx.AsyncClient(base_url=standin).get("/_standin/requests")
                ).json()
                if r["family"] == "fal"
                and r.get("method", "POST") == "POST"
                and "/requests/" not in r["path"]
            ]
        statuses = Counter(job["status"] for job in ended.values())
        missed_progress = sum(
            not any(name == "scene.progress" for name, _ in seen) for seen in feeds
        )
        completions = [sum(name == "scene.completed" for name, _ in seen) for seen in feeds]
        wrong_images = sum(images[job["scene_id"]] != 1 for job in jobs)
        print(
            f"\nscenes instance killed mid-job ({len(owners)} instances held jobs: "
            f"{sorted(owners.values())}): {statuses['completed']} completed, "
            f"{statuses['failed']} failed, {JOBS - len(ended)} unfinished, {taken_over} taken "
            f"over, {len(fal) - JOBS} resubmitted to fal, {wrong_images} scenes without exactly "
            f"one image, {missed_progress} clients without progress, "
            f"{sum(n != 1 for n in completions)} without exactly one completion"
        )
        assert statuses["completed"] == JOBS
        assert all(row["status"] == "completed" for row in rows)
        assert taken_over >= 1
        assert wrong_images == 0
        assert missed_progress == 0
        assert completions == [1] * JOBS
