"""How the STAND-IN's errors and injected failures look on the wire, per provider.

Error bodies follow each provider: OpenAI-compatible `{"error": {message, type, param,
code}}` (chat, images), fal `{"detail": …}`, Replicate problem details `{title, detail,
status}`. A stall sends the headers and then waits before the body; a cut sends part of the
body and then ends it, or drops the connection (`abrupt`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Send

from roleplay_standin.knobs import Failure, Family

_OPENAI_KINDS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
}
_TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    404: "Not found",
    422: "Input validation failed",
    429: "Request was throttled",
    500: "Internal server error",
    503: "Service unavailable",
}


class DropConnection(Exception):
    """Raised inside a streamed body: the server closes the connection mid-body."""


class StandinStream(StreamingResponse):
    """A streamed response whose body may end by dropping the connection."""

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        except DropConnection:
            # No final body message: uvicorn closes the connection, the client sees an
            # incomplete chunked body, as when a real upstream dies mid-answer.
            return


def error_response(
    family: Family,
    status: int,
    message: str,
    *,
    retry_after: int | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any]
    if family in ("chat", "images"):
        kind, code = _OPENAI_KINDS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    elif family == "fal":
        body = {"detail": message}
    else:
        body = {"title": _TITLES.get(status, "Error"), "detail": message, "status": status}
    body.update(extra or {})
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


def injected_error(family: Family, failure: Failure) -> JSONResponse:
    message = failure.message or f"STAND-IN injected failure: HTTP {failure.status}"
    retry_after = failure.retry_after if failure.status in (429, 503) else None
    return error_response(family, failure.status, message, retry_after=retry_after)


_SCHEMES: dict[Family, tuple[str, ...]] = {
    "chat": ("bearer",),
    "images": ("bearer",),
    "replicate": ("bearer", "token"),
    "fal": ("key",),
}


def key_accepted(request: Request, family: Family, required: str | None) -> bool:
    """With no key required anything goes; otherwise the provider's scheme and the key:
    `Bearer` (OpenAI-compatible, Replicate, which also takes `Token`) or `Key` (fal)."""
    if required is None:
        return True
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() in _SCHEMES[family] and key.strip() == required


def unauthorized(family: Family) -> JSONResponse:
    scheme = {"fal": "Key", "replicate": "Bearer"}.get(family, "Bearer")
    return error_response(
        family, 401, f"STAND-IN: missing or wrong key (send `Authorization: {scheme} <key>`)"
    )


async def _stalled(content: bytes, seconds: float) -> AsyncIterator[bytes]:
    await asyncio.sleep(seconds)
    yield content


async def _cut(content: bytes, abrupt: bool) -> AsyncIterator[bytes]:
    yield content[: len(content) // 2]
    if abrupt:
        raise DropConnection


def json_answer(
    body: Any,
    *,
    status_code: int = 200,
    failure: Failure | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A JSON answer, stalled or cut when `failure` says so."""
    if failure is None or failure.kind not in ("stall", "cut"):
        return JSONResponse(body, status_code=status_code, headers=headers)
    content = json.dumps(body).encode()
    stream = (
        _stalled(content, failure.stall_seconds)
        if failure.kind == "stall"
        else _cut(content, failure.abrupt)
    )
    return StandinStream(
        stream, status_code=status_code, headers=headers, media_type="application/json"
    )


async def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError):
        return None
