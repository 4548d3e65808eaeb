"""Importing a card, end to end: the file read and mapped (in a worker thread), then its
art kept as the portrait and its embedded assets kept in object storage.

Assets live in the portraits bucket under `{character_id}/assets/{path}`; the character
records which object holds each (`asset_keys`), so an export puts them back: a CHARX holds
them all (a PNG's chunks moved under `assets/`), a PNG its asset chunks again.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field

from roleplay_common.storage import PORTRAITS, ObjectNotFoundError, ObjectStorage
from roleplay_gateway.characters import cards
from roleplay_gateway.characters.cards.charx import EMBEDDED
from roleplay_gateway.characters.cards.png_assets import PNG_ASSET
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.characters.store import Character
from roleplay_gateway.import_warnings import ImportWarnings, file_stem

PORTRAIT_KINDS = ("png", "jpeg", "webp")
MAX_PATH = 300


@dataclass
class Imported:
    fields: cards.CardFields
    files: dict[str, bytes]
    portrait: tuple[bytes, str] | None
    """The art and its kind (`png`, `jpeg`, `webp`)."""
    warnings: ImportWarnings = field(default_factory=ImportWarnings)


def read(filename: str, data: bytes) -> Imported:
    """CPU work only: run it in a thread."""
    raw = cards.read_card(filename, data)
    fields = cards.to_fields(raw.card, raw.warnings, fallback_name=file_stem(filename))
    for path in list(raw.files):
        if len(path) > MAX_PATH or not path.isprintable():
            raw.warnings.add(f"the file {path[:60]!r} has an unusable path; left out")
            del raw.files[path]
    portrait = (raw.portrait, "png") if raw.portrait else _main_icon(fields, raw.files)
    return Imported(fields, raw.files, portrait, raw.warnings)


def _main_icon(fields: cards.CardFields, files: dict[str, bytes]) -> tuple[bytes, str] | None:
    """A CHARX's main icon (`type: icon`, `name: main`, or the first icon), when readable."""
    icons = [a for a in fields.values["assets"] if a.get("type") == "icon"]
    icons.sort(key=lambda a: a.get("name") != "main")
    for asset in icons:
        content = files.get(_file_key(str(asset.get("uri", ""))) or "")
        if content is None:
            continue
        try:
            kind = (open_image(content, decode=False).format or "").lower()
        except UnreadableImageError:
            continue
        if kind in PORTRAIT_KINDS:
            return content, kind
    return None


def _file_key(uri: str) -> str | None:
    """Where an asset's bytes sit among the uploaded files, for an embedded `uri`."""
    if uri.startswith(EMBEDDED):
        return uri[len(EMBEDDED) :]
    if uri.startswith(PNG_ASSET):
        return uri
    return None


def _object_key(character_id: object, path: str) -> str:
    safe = "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", ".", ".."))
    return f"{character_id}/assets/{safe or 'unnamed'}"


async def keep_files(storage: ObjectStorage, character: Character, imported: Imported) -> None:
    """Store the portrait and every embedded file; record where on `character`."""
    if imported.portrait is not None:
        content, kind = imported.portrait
        key = f"{character.id}/portrait.{'jpg' if kind == 'jpeg' else kind}"
        await storage.put(PORTRAITS, key, content, f"image/{kind}")
        character.portrait_key = key
        character.image_url = f"/v1/characters/{character.id}/portrait"
    keys: dict[str, str] = {}
    for path, content in imported.files.items():
        key = _object_key(character.id, path)
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        await storage.put(PORTRAITS, key, content, kind)
        keys[path] = key
    character.asset_keys = keys


async def stored_files(
    storage: ObjectStorage, character: Character, *, png_assets_only: bool = False
) -> dict[str, bytes]:
    """The embedded files of the card, by the path it addresses them with (a CHARX member's
    path, `__asset:{path}` for a PNG asset chunk); only the latter with `png_assets_only`."""
    out: dict[str, bytes] = {}
    for path, key in character.asset_keys.items():
        if png_assets_only and not path.startswith(PNG_ASSET):
            continue
        try:
            out[path] = (await storage.get(PORTRAITS, key)).data
        except ObjectNotFoundError:
            continue
    return out
