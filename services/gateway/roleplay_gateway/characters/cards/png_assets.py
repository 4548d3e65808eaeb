"""A PNG card's embedded assets (`chara-ext-asset_:{path}` chunks, named `__asset:{path}` by
the card's `assets`), written back as chunks, or moved into a CHARX.

In a CHARX an asset is a file addressed `embeded://path`; the spec puts it under
`assets/{type}/{images|audio|video|other}/`. So each `__asset:` file goes there, named after
its path and extension, and the URIs that named it are rewritten; a chunk no asset names goes
under `assets/other/other/`.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from roleplay_gateway.characters.cards.charx import EMBEDDED
from roleplay_gateway.characters.cards.png_chunks import ASSET_PREFIX

PNG_ASSET = "__asset:"
_KINDS = {
    "images": {"png", "jpg", "jpeg", "webp", "gif", "avif", "bmp", "svg"},
    "audio": {"mp3", "ogg", "wav", "flac", "m4a", "opus"},
    "video": {"mp4", "webm", "mov"},
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def chunk_name(path: str) -> str:
    """The PNG chunk keyword of an `__asset:{path}` file."""
    return f"{ASSET_PREFIX}:{path[len(PNG_ASSET) :]}"


def _safe(part: str, fallback: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or fallback


def _charx_path(asset: dict[str, Any] | None, path: str) -> str:
    ext = _safe(str((asset or {}).get("ext") or ""), "").lower()
    kind = next((k for k, exts in _KINDS.items() if ext in exts), "other")
    kind_of_asset = _safe(str((asset or {}).get("type") or ""), "other")
    name = _safe(path[len(PNG_ASSET) :], "asset")
    if ext and not name.lower().endswith(f".{ext}"):
        name = f"{name}.{ext}"
    return f"assets/{kind_of_asset}/{kind}/{name}"


def _unique(target: str, taken: dict[str, bytes]) -> str:
    stem, ext = posixpath.splitext(target)
    n = 1
    while target in taken:
        n += 1
        target = f"{stem}-{n}{ext}"
    return target


def as_charx_files(data: dict[str, Any], files: dict[str, bytes]) -> dict[str, bytes]:
    """The CHARX's files: `files` with each `__asset:` one moved to an `assets/` path, and the
    URIs of `data["assets"]` that named it rewritten (in place)."""
    out = {p: c for p, c in files.items() if not p.startswith(PNG_ASSET)}
    assets = [a for a in data.get("assets") or [] if isinstance(a, dict)]
    moved: dict[str, str] = {}
    for path in sorted(p for p in files if p.startswith(PNG_ASSET)):
        named = next((a for a in assets if a.get("uri") == path), None)
        target = _unique(_charx_path(named, path), out)
        out[target] = files[path]
        moved[path] = target
    for asset in assets:
        uri = str(asset.get("uri"))
        if uri in moved:
            asset["uri"] = EMBEDDED + moved[uri]
    return out
