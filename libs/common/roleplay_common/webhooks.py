"""Signed webhook URLs: a provider calls back through the public gateway with a token that
only our services can make, so nobody else can complete or fail a job."""

from __future__ import annotations

import hashlib
import hmac


def webhook_token(secret: str, job_id: str) -> str:
    return hmac.new(secret.encode(), f"scene-job:{job_id}".encode(), hashlib.sha256).hexdigest()


def valid_token(secret: str, job_id: str, token: str) -> bool:
    """Whether `token` is the job's; any string is only ever False, never an error (the
    comparison is of bytes, since `compare_digest` refuses non-ASCII text)."""
    presented = token.encode("utf-8", errors="replace")
    return hmac.compare_digest(webhook_token(secret, job_id).encode(), presented)
