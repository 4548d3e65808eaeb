"""Tables every service has in its own schema: processed events and the outbox.

They are defined once here and created by each service's first migration through
`create_plumbing_tables`, so every service dedupes and relays the same way.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg


@cache
def processed_events_table(schema: str) -> sa.Table:
    return sa.Table(
        "processed_events",
        sa.MetaData(schema=schema),
        sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )


@cache
def outbox_table(schema: str) -> sa.Table:
    return sa.Table(
        "outbox",
        sa.MetaData(schema=schema),
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("envelope", pg.JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index(
            f"ix_{schema}_outbox_unpublished",
            "seq",
            postgresql_where=sa.text("published_at is null"),
        ),
    )


def create_plumbing_tables(schema: str) -> None:
    """Call from a service's first Alembic migration."""
    from alembic import op

    bind = op.get_bind()
    for table in (processed_events_table(schema), outbox_table(schema)):
        table.create(bind, checkfirst=True)


def drop_plumbing_tables(schema: str) -> None:
    from alembic import op

    bind = op.get_bind()
    for table in (outbox_table(schema), processed_events_table(schema)):
        table.drop(bind, checkfirst=True)
