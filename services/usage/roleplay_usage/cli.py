"""`roleplay usage backfill --from … --to …` (or `python -m roleplay_usage backfill …`):
rebuild aggregates from the logs, with a progress bar."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress

from roleplay_common.db import Database
from roleplay_usage.backfill import rebuild
from roleplay_usage.domain.buckets import whole_days
from roleplay_usage.settings import UsageSettings
from roleplay_usage.store import SCHEMA

app = typer.Typer(help="Usage accounting.", no_args_is_help=True)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.callback()
def usage() -> None:
    """Usage accounting."""


@app.command("backfill")
def backfill(
    start: Annotated[datetime, typer.Option("--from", help="Start (UTC unless a zone is given).")],
    end: Annotated[datetime, typer.Option("--to", help="End, exclusive.")],
) -> None:
    """Recompute the hourly and daily aggregates of a range (whole days) from the logs."""
    start, end = _utc(start), _utc(end)
    if start >= end:
        raise typer.BadParameter("--from must be before --to")
    settings = UsageSettings()

    async def run() -> int:
        db = Database(settings.database, schema=SCHEMA, application_name="usage-backfill")
        try:
            with Progress() as progress:
                task = progress.add_task("rebuilding days", total=len(whole_days(start, end)))
                return await rebuild(db, start, end, lambda _day: progress.advance(task))
        finally:
            await db.dispose()

    days = asyncio.run(run())
    typer.echo(f"rebuilt {days} day(s) of aggregates")
