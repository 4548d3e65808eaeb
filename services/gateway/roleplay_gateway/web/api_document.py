"""Print the gateway's OpenAPI document without starting anything (`python -m ...`).

The web client's typed API calls are generated from it (`services/gateway/web/openapi.json`).
Building the app checks its secrets, so throwaway ones are set when none are given; nothing
connects to a broker, a database or storage until the app starts, which it never does here.
"""

from __future__ import annotations

import json
import os
import secrets
import sys

THROWAWAY = (
    "ROLEPLAY_SERVICE_TOKEN",
    "GATEWAY_JWT_SECRET",
    "GATEWAY_WEBHOOK_SECRET",
    "GATEWAY_ADMIN_PASSWORD",
)


def document() -> str:
    """The OpenAPI document as stable, indented JSON."""
    for name in THROWAWAY:
        os.environ.setdefault(name, secrets.token_urlsafe(32))
    from roleplay_gateway.app import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(document())
