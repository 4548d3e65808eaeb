"""The provider STAND-IN's FastAPI app: the protocol routers, the files, and the admin routes.

Every answer carries the header `x-standin: true`. Admin routes (not part of any provider's
protocol) live under `/_standin/`: the live config, failures, reset, and the requests and
webhook deliveries seen, so tests can change behaviour at runtime and assert on inputs.
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roleplay_standin import chat_completions, fal_queue, openai_images, replicate
from roleplay_standin.failure_responses import json_body
from roleplay_standin.images import render
from roleplay_standin.knobs import Config, Failure, Knobs
from roleplay_standin.state import StandinState, state_of


class StandinLabel:
    """Adds `x-standin: true` to every response (pure ASGI, so streams are untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-standin", b"true")]
            await send(message)

        await self.app(scope, receive, labelled)


def create_app(public_url: str | None = None, *, config: Config | None = None) -> FastAPI:
    """The stand-in. `public_url` is the base of the URLs it hands out (file links, job
    URLs); by default the address each request came to. `config` is the start-up config
    that `/_standin/reset` returns to (default: every knob's default)."""
    state = StandinState(Knobs(config), public_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()

    app = FastAPI(
        title="Provider STAND-IN",
        description=(
            "NOT a real provider: a local STAND-IN that speaks the protocols of paid "
            "providers (OpenAI-compatible chat and images, fal.ai queue, Replicate) for "
            "offline use and tests."
        ),
        lifespan=lifespan,
    )
    app.state.standin = state
    app.add_middleware(StandinLabel)
    app.include_router(chat_completions.router)
    app.include_router(openai_images.router)
    app.include_router(fal_queue.router)
    app.include_router(replicate.router)
    _add_admin_routes(app)
    return app


def _add_admin_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> str:
        config = json.dumps(state_of(request).knobs.config.model_dump(), indent=2)
        return _INDEX.format(config=html.escape(config))

    @app.get("/healthz", tags=["stand-in"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "kind": "stand-in", "standin": True}

    @app.api_route("/files/{name}", methods=["GET", "HEAD"], tags=["stand-in"])
    async def file(name: str, request: Request) -> Response:
        spec = state_of(request).files.get(name)
        if spec is None:
            return JSONResponse({"detail": "no such file"}, status_code=404)
        data = await render(spec)
        return Response(
            data if request.method == "GET" else b"",
            media_type="image/png",
            headers={"content-length": str(len(data))},
        )

    @app.get("/_standin/config", tags=["stand-in admin"])
    async def get_config(request: Request) -> dict[str, Any]:
        return state_of(request).knobs.config.model_dump()

    @app.post("/_standin/config", tags=["stand-in admin"])
    async def set_config(request: Request) -> Response:
        patch = await json_body(request)
        if not isinstance(patch, dict):
            return JSONResponse({"detail": "send a JSON object of knobs"}, status_code=422)
        try:
            config = state_of(request).knobs.update(patch)
        except ValidationError as exc:
            return JSONResponse({"detail": json.loads(exc.json())}, status_code=422)
        return JSONResponse(config.model_dump())

    @app.post("/_standin/failures", tags=["stand-in admin"])
    async def add_failure(request: Request) -> Response:
        try:
            failure = Failure.model_validate(await json_body(request))
        except ValidationError as exc:
            return JSONResponse({"detail": json.loads(exc.json())}, status_code=422)
        return JSONResponse(state_of(request).knobs.add_failure(failure).model_dump())

    @app.post("/_standin/reset", tags=["stand-in admin"])
    async def reset(request: Request) -> dict[str, Any]:
        state = state_of(request)
        state.requests.clear()
        state.webhooks.clear()
        return {"status": "reset", "config": state.knobs.reset().model_dump()}

    @app.get("/_standin/requests", tags=["stand-in admin"])
    async def requests(
        request: Request,
        family: str | None = None,
        model: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        seen = [
            r
            for r in state_of(request).requests
            if (family is None or r["family"] == family) and (model is None or r["model"] == model)
        ]
        return seen[-limit:] if limit else seen

    @app.delete("/_standin/requests", tags=["stand-in admin"])
    async def forget_requests(request: Request) -> dict[str, str]:
        state_of(request).requests.clear()
        return {"status": "cleared"}

    @app.get("/_standin/webhooks", tags=["stand-in admin"])
    async def webhook_deliveries(request: Request) -> list[dict[str, Any]]:
        return list(state_of(request).webhooks)


_INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>Provider STAND-IN</title></head>
<body style="font-family: sans-serif; max-width: 60em; margin: 2em auto">
<h1>Provider STAND-IN</h1>
<p><strong>This is not a real provider.</strong> It is a local stand-in that speaks the
protocols of paid model providers so the system runs offline and its adapters can be tested.
Replies are deterministic text made from the request; images are generated gradients.</p>
<h2>Protocols</h2>
<ul>
<li>OpenAI-compatible chat: <code>POST /v1/chat/completions</code> (SSE with
<code>stream: true</code>), <code>GET /v1/models</code></li>
<li>OpenAI-compatible images: <code>POST /v1/images/generations</code>,
<code>POST /v1/images/edits</code></li>
<li>fal.ai queue: <code>POST /fal/{{model_id}}</code>, <code>GET
/fal/{{model_id}}/requests/{{id}}/status</code>, <code>GET /fal/{{model_id}}/requests/{{id}}</code>,
<code>PUT /fal/{{model_id}}/requests/{{id}}/cancel</code></li>
<li>Replicate: <code>POST /replicate/v1/models/{{owner}}/{{name}}/predictions</code>,
<code>POST /replicate/v1/predictions</code>, <code>GET /replicate/v1/predictions/{{id}}</code>,
<code>POST /replicate/v1/predictions/{{id}}/cancel</code></li>
<li>Images: <code>GET /files/{{name}}.png</code></li>
</ul>
<h2>Admin</h2>
<p><code>GET|POST /_standin/config</code>, <code>POST /_standin/failures</code>,
<code>POST /_standin/reset</code>, <code>GET|DELETE /_standin/requests</code>,
<code>GET /_standin/webhooks</code>, <a href="/docs">/docs</a>.</p>
<h2>Current knobs</h2>
<pre>{config}</pre>
</body></html>
"""
