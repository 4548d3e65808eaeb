"""The web client: the single-page app built from `services/gateway/web/` (served at `/`).

`make web` (and so `make up` and `make test`) builds it into `services/gateway/web/dist`;
`GATEWAY_WEB_DIST` points elsewhere. The page loads its script and style from files of this
origin, so its Content-Security-Policy allows no inline code at all: scripts and styles from
`'self'`; fetches and images to this origin and to object storage (scene images are signed
URLs there, and a portrait's gateway path redirects to one, which the client fetches with its
token and shows from memory). Until the client is built, `/` says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from roleplay_common.http import not_found
from roleplay_common.settings import StorageSettings
from roleplay_gateway.deps import SettingsDep

router = APIRouter(include_in_schema=False)
DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roleplay</title></head>
<body><h1>The web client is not built</h1>
<p>Run <code>make web</code> (or <code>make up</code>) in the repository, then reload.</p>
</body></html>
"""


def storage_origin(storage: StorageSettings) -> str:
    scheme = "https" if storage.secure else "http"
    return f"{scheme}://{storage.public_endpoint or storage.endpoint}"


def page_policy(storage: StorageSettings) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src 'self' {storage_origin(storage)}",
            f"img-src 'self' data: blob: {storage_origin(storage)}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def dist_dir(configured: str | None) -> Path:
    return Path(configured) if configured else DIST


@router.get("/", response_class=HTMLResponse)
async def index(settings: SettingsDep) -> Response:
    policy = {"Content-Security-Policy": page_policy(settings.storage), "Cache-Control": "no-cache"}
    page = dist_dir(settings.web_dist) / "index.html"
    if not page.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers=policy)
    return FileResponse(page, media_type="text/html", headers=policy)


@router.get("/assets/{name}")
async def asset(name: str, settings: SettingsDep) -> Response:
    """A built file; its name carries its content hash, so it may be cached for good."""
    folder = (dist_dir(settings.web_dist) / "assets").resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise not_found("File")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})
