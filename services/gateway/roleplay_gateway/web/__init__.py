"""The web client: one page over the public API (served at `/`).

The page keeps its script and style inline; its Content-Security-Policy allows exactly those
(by their SHA-256, computed from the page at import), fetches to this origin only, and images
from here and from object storage (scene images are signed URLs there).
"""

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from roleplay_common.settings import StorageSettings
from roleplay_gateway.deps import SettingsDep

router = APIRouter(include_in_schema=False)
PAGE = (Path(__file__).parent / "index.html").read_text()


def inline_hashes(tag: str, page: str = PAGE) -> str:
    """The CSP sources of a page's inline `<tag>` elements."""
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in bodies)
    return " ".join(f"'sha256-{d}'" for d in digests)


SCRIPTS = inline_hashes("script")
STYLES = inline_hashes("style")


def storage_origin(storage: StorageSettings) -> str:
    scheme = "https" if storage.secure else "http"
    return f"{scheme}://{storage.public_endpoint or storage.endpoint}"


def page_policy(storage: StorageSettings) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {SCRIPTS}",
            f"style-src {STYLES}",
            "connect-src 'self'",
            f"img-src 'self' data: {storage_origin(storage)}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


@router.get("/", response_class=HTMLResponse)
async def index(settings: SettingsDep) -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": page_policy(settings.storage)})
