"""Idempotency keys turned into stable ids.

A retried `POST` with the same `Idempotency-Key` (or `client_message_id`) derives the same
ids, so the command it publishes is the same event and every consumer dedupes it; the caller
gets the first result back and nothing new is created.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("5b0c3c6e-6f0e-4b8a-9a53-6b2f7c1d9e41")


def derived_id(kind: str, user_id: uuid.UUID, key: str, *scope: object) -> uuid.UUID:
    parts = ":".join([kind, str(user_id), *(str(s) for s in scope), key])
    return uuid.uuid5(_NAMESPACE, parts)


def new_or_derived_id(kind: str, user_id: uuid.UUID, key: str | None) -> uuid.UUID:
    """A fresh id, or the one a retry with the same `Idempotency-Key` gets again."""
    return derived_id(kind, user_id, key) if key else uuid.uuid4()
