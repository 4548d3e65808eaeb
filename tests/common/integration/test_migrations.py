"""Each service's migrations build its own schema from empty, re-run cleanly, touch no other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

SLICES: dict[str, tuple[str, set[str]]] = {
    "gateway": ("roleplay_gateway.app", {"identity", "catalog"}),
    "chat": ("roleplay_chat.app", {"chat"}),
    "scenes": ("roleplay_scenes.app", {"scenes"}),
    "library": ("roleplay_library.app", {"library"}),
    "usage": ("roleplay_usage.app", {"usage"}),
}
BUILTIN = {"public", "information_schema", "pg_catalog", "pg_toast"}


def _migrations(module: str) -> Path:
    import importlib

    path: Path = importlib.import_module(module).MIGRATIONS
    return path


async def _snapshot(url: str) -> dict[str, set[str]]:
    """Schema -> table names, user schemas only."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "select n.nspname, c.relname from pg_namespace n "
            "left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p') "
            "where n.nspname not like 'pg_%' and n.nspname <> 'information_schema'"
        )
    finally:
        await conn.close()
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row["nspname"], set())
        if row["relname"]:
            out[row["nspname"]].add(row["relname"])
    return out


@pytest.mark.parametrize("service", list(SLICES))
async def test_migrations_build_only_their_schema_and_rerun(
    service: str, fresh_database: str
) -> None:
    from roleplay_common.db.migrations import downgrade_to_base, upgrade_to_head

    module, schemas = SLICES[service]
    migrations = _migrations(module)
    before = await _snapshot(fresh_database)

    await asyncio.to_thread(upgrade_to_head, fresh_database, migrations)
    once = await _snapshot(fresh_database)
    await asyncio.to_thread(upgrade_to_head, fresh_database, migrations)
    twice = await _snapshot(fresh_database)

    assert once == twice
    assert set(once) - set(before) == schemas
    assert once.get("public", set()) == before.get("public", set())
    primary = next(iter(sorted(schemas, key=lambda s: s not in ("identity", service))))
    assert {"processed_events", "outbox", "alembic_version"} <= once[primary]

    await asyncio.to_thread(downgrade_to_base, fresh_database, migrations)
    await asyncio.to_thread(upgrade_to_head, fresh_database, migrations)
    assert await _snapshot(fresh_database) == once


async def test_all_slices_side_by_side_in_one_database(fresh_database: str) -> None:
    from roleplay_common.db.migrations import upgrade_to_head

    for module, _ in SLICES.values():
        await asyncio.to_thread(upgrade_to_head, fresh_database, _migrations(module))
    found = set(await _snapshot(fresh_database)) - BUILTIN
    assert found == set().union(*(s for _, s in SLICES.values()))
