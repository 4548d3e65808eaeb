"""The stand-in's FastAPI app: every route answers with header `x-standin: true`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from roleplay_standin import chat_completions, fal_queue, openai_images, replicate
from roleplay_standin.knobs import Config, Knobs


class _Label(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["x-standin"] = "true"
        return response


def create_app(public_url: str = "http://127.0.0.1:18080") -> FastAPI:
    app = FastAPI(
        title="Provider STAND-IN",
        description="Not a real provider: a local stand-in speaking real provider protocols.",
    )
    app.state.knobs = Knobs()
    app.state.requests = []
    app.state.fal_jobs = {}
    app.state.files = {}
    app.state.predictions = {}
    app.state.public_url = public_url
    app.add_middleware(_Label)
    app.include_router(chat_completions.router)
    app.include_router(fal_queue.router)
    app.include_router(openai_images.router)
    app.include_router(replicate.router)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return "<h1>Provider STAND-IN</h1><p>Not a real provider. See /docs.</p>"

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "kind": "stand-in"}

    @app.get("/files/{name}")
    async def file(name: str) -> Response:
        data = app.state.files.get(name)
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/png")

    @app.get("/_standin/config")
    async def get_config() -> Config:
        config: Config = app.state.knobs.config
        return config

    @app.post("/_standin/config")
    async def set_config(config: Config) -> Config:
        app.state.knobs.config = config
        return config

    @app.post("/_standin/reset")
    async def reset() -> dict[str, str]:
        app.state.knobs.config = Config()
        app.state.requests.clear()
        return {"status": "reset"}

    @app.get("/_standin/requests")
    async def requests() -> list[dict[str, Any]]:
        recent: list[dict[str, Any]] = app.state.requests[-200:]
        return recent

    return app
