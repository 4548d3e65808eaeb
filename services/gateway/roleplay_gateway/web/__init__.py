"""The web client: one page over the public API (served at `/`)."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
PAGE = (Path(__file__).parent / "index.html").read_text()


@router.get("/", response_class=HTMLResponse)
async def index() -> str:
    return PAGE
