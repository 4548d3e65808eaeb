"""The web client's API types are generated from the gateway's OpenAPI document; a route or
model that changes without `make web-api` fails here (and the client's build, by its types)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[3] / "services" / "gateway" / "web"


def test_the_committed_openapi_document_is_the_gateways() -> None:
    rendered = subprocess.run(
        [sys.executable, "-m", "roleplay_gateway.web.api_document"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    committed = (WEB / "openapi.json").read_text()
    assert rendered == committed, "the API changed: run `make web-api` and commit the result"


def test_the_committed_types_are_generated_from_the_document() -> None:
    generator = WEB / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists() or shutil.which("node") is None:
        pytest.skip("the web client's node modules are not installed (make web)")
    generated = subprocess.run(
        [str(generator), "openapi.json"],
        cwd=WEB,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert generated == committed, "stale API types: run `make web-api` and commit the result"
