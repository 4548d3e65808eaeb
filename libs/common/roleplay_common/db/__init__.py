"""PostgreSQL plumbing: engine bound to a service's schema, migrations, idempotency, outbox."""

from roleplay_common.db.engine import Database
from roleplay_common.db.idempotency import claim_event
from roleplay_common.db.outbox import OutboxRelay, add_to_outbox

__all__ = ["Database", "OutboxRelay", "add_to_outbox", "claim_event"]
