"""Webhook deliveries from the STAND-IN (fal and Replicate), with retries and a log.

Each delivery is a JSON POST carrying `x-standin: true`; one that fails (connection error
or non-2xx) is retried up to `webhook_attempts` times with a short backoff. Every delivery
is listed at `GET /_standin/webhooks` so tests can assert on what was sent.

Replicate signs its webhooks the Standard Webhooks way: headers `webhook-id`,
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
keyed with the secret from `GET /v1/webhooks/default/secret` (`whsec_<base64 key>`); the
stand-in does the same with its own secret. fal's ED25519 signatures are not emulated.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from roleplay_standin.knobs import Family
from roleplay_standin.state import StandinState

WEBHOOK_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def replicate_signature_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    webhook_id = f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
    }


async def deliver(
    state: StandinState,
    family: Family,
    url: str,
    body: dict[str, Any],
    *,
    event: str | None = None,
) -> None:
    """POST `body` to `url`, retrying; the outcome goes to the deliveries log."""
    content = json.dumps(body).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "roleplay-standin",
        "x-standin": "true",
    }
    if family == "replicate":
        headers.update(replicate_signature_headers(content))
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(),
        "family": family,
        "event": event,
        "url": url,
        "body": body,
        "attempts": 0,
        "status_code": None,
        "delivered": False,
    }
    state.webhooks.append(entry)
    attempts = state.knobs.config.webhook_attempts
    async with httpx.AsyncClient(timeout=10) as client:
        for attempt in range(attempts):
            entry["attempts"] = attempt + 1
            try:
                response = await client.post(url, content=content, headers=headers)
                entry["status_code"] = response.status_code
                if response.is_success:
                    entry["delivered"] = True
                    return
            except httpx.HTTPError as exc:
                entry["error"] = type(exc).__name__
            if attempt + 1 < attempts:
                await asyncio.sleep(0.2 * 2**attempt)
