"""HTTP plumbing shared by the public gateway and the internal service APIs.

* `ApiError` carries its status and the contract's error code; one handler renders every
  error as `{"error": {"code", "message", "details"}}`. Validation errors become `422` whose
  message names the first bad field; a database or broker that does not answer `503` with
  `Retry-After` (`roleplay_common.outages`); anything else unexpected a logged `500` with no
  internals leaked.
* A middleware binds the request's correlation id (`X-Request-ID`, generated when absent) to
  every log line and echoes it back.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roleplay_common.logging import bind_correlation, get_logger
from roleplay_common.outages import CONNECTION_EXCEPTIONS, Dependency, outage_of

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
OUTAGE_RETRY_AFTER_SECONDS = 5

# A client must drop an idle connection well before the server closes it, or a request sent
# on a connection the server is closing fails with a reset. Servers keep idle connections
# this long; our clients keep them at most `CLIENT_KEEPALIVE_SECONDS`.
SERVER_KEEPALIVE_SECONDS = 65
CLIENT_KEEPALIVE_SECONDS = 15.0

HTTP_REQUESTS = Counter(
    "roleplay_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
HTTP_LATENCY = Histogram(
    "roleplay_http_request_seconds", "HTTP request latency (until headers).", ["route"]
)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error a client should see, with its HTTP status and contract code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class ErrorInfo(BaseModel):
    code: str = Field(description="A snake_case code a client can branch on.")
    message: str = Field(description="A human sentence.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="More about the error; a validation error lists `errors: [{loc, msg, type}]`.",
    )


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorInfo


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """Answer from plain ASGI middleware, in the contract's error shape."""
    body = json.dumps(error_body(code, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


_OUTAGES: dict[Dependency, tuple[str, str]] = {
    "database": ("database_unavailable", "the database"),
    "broker": ("broker_unavailable", "the message broker"),
    "network": ("dependency_unavailable", "a service this request needs"),
}


def outage_response(dependency: Dependency) -> JSONResponse:
    code, what = _OUTAGES[dependency]
    return JSONResponse(
        error_body(code, f"{what} is not available; try again shortly"),
        503,
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
    )


def _field_of(loc: list[Any]) -> str:
    """`["body", "profile", 0, "name"]` → `profile[0].name`."""
    where = ("body", "query", "path", "header")
    parts = loc[1:] if len(loc) > 1 and loc[0] in where and isinstance(loc[1], str) else loc
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f"{'.' if out else ''}{part}"
    return out or "the request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        message = "the request is not valid"
        if errors:
            message = f"{_field_of(errors[0]['loc'])}: {errors[0]['msg']}"
        return JSONResponse(error_body("validation_error", message, {"errors": errors}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        if dependency := outage_of(exc):
            log.warning("dependency unavailable", dependency=dependency, error=type(exc).__name__)
            return outage_response(dependency)
        log.exception("unhandled error", error=type(exc).__name__)
        return JSONResponse(error_body("internal_error", "internal error"), 500)

    # A handler for `Exception` runs in the outermost middleware, which answers and then
    # re-raises; the connection-level classes get theirs inside the app, so an outage is an
    # ordinary answer.
    for exception_class in (*CONNECTION_EXCEPTIONS, Exception):
        app.add_exception_handler(exception_class, on_unexpected)


class CorrelationMiddleware:
    """Plain ASGI, so streamed bodies pass straight through (no per-chunk task hop)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get(REQUEST_ID_HEADER) or str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
                route = scope.get("route")
                label = getattr(route, "path", "unmatched")
                HTTP_REQUESTS.labels(label, str(status)).inc()
                HTTP_LATENCY.labels(label).observe(time.perf_counter() - started)
            await send(message)

        with bind_correlation(request_id, path=scope["path"], method=scope["method"]):
            await self.app(scope, receive, send_with_id)
