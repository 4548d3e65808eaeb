"""From an uploaded file to the card's JSON object: JSON, PNG/APNG (`ccv3`, else `chara`, also
when `ccv3` is not base64 JSON or not a card) or CHARX (`card.json`), with the art and
embedded assets that came with it.

Everything here is synchronous CPU work; routes run it in a thread. Sizes are bounded by the
route (8 MiB), JSON nesting by `MAX_JSON_DEPTH`, a PNG's pixels by `images.MAX_PIXELS`, a
CHARX by `charx`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from roleplay_common.text import check_json_tree
from roleplay_gateway.characters.cards import charx, png_chunks
from roleplay_gateway.characters.cards.errors import MalformedCardError
from roleplay_gateway.characters.cards.normalise import card_data
from roleplay_gateway.characters.images import UnreadableImageError, open_image
from roleplay_gateway.import_warnings import ImportWarnings


@dataclass
class RawCard:
    card: dict[str, Any]
    portrait: bytes | None = None
    """The PNG the card came in, when it is a readable image: it becomes the portrait."""
    files: dict[str, bytes] = field(default_factory=dict)
    """Embedded assets by how the card addresses them (`path` for `embeded://path`,
    `__asset:path` for a PNG's `chara-ext-asset_` chunk)."""
    warnings: ImportWarnings = field(default_factory=ImportWarnings)


def read_card(filename: str, data: bytes) -> RawCard:
    if png_chunks.is_png(data):
        return _from_png(data)
    if charx.is_charx(data):
        contents = charx.read_charx(data)
        card = json_object(contents.card_json, "the CHARX's card.json is not JSON")
        return RawCard(card, files=contents.files)
    return RawCard(json_object(data, f"{filename or 'the file'} is not a PNG, CHARX or JSON"))


def _from_png(data: bytes) -> RawCard:
    try:
        texts = png_chunks.read_text_chunks(data)
    except png_chunks.BrokenPngError as exc:
        raise MalformedCardError(f"the PNG cannot be read: {exc}") from exc
    warnings = ImportWarnings()
    card = None
    for key in png_chunks.CARD_CHUNK_KEYS[::-1]:  # ccv3 first, then chara
        if key not in texts:
            continue
        try:
            card = json_object(_base64(texts[key]), f"the PNG's `{key}` chunk is not base64 JSON")
            if key == "ccv3":
                card_data(card)  # JSON but no card (no `data`, an unknown spec) falls back too
            break
        except MalformedCardError as exc:
            card = None
            if key == "ccv3" and "chara" in texts:
                warnings.add(f"the `ccv3` chunk is not a card ({exc}); read `chara` instead")
                continue
            raise
    if card is None:
        raise MalformedCardError("the PNG has no `chara` or `ccv3` card chunk")
    portrait: bytes | None = data
    try:
        open_image(data)
    except UnreadableImageError as exc:
        warnings.add(f"the card's image was not kept as the portrait: {exc}")
        portrait = None
    files = {}
    for key, value in texts.items():
        if key.startswith(png_chunks.ASSET_PREFIX):
            path = key[len(png_chunks.ASSET_PREFIX) :].lstrip(":")
            try:
                files[f"__asset:{path}"] = base64.b64decode(value, validate=False)
            except (binascii.Error, ValueError):
                warnings.add(f"the PNG's asset chunk {key} is not base64; left out")
    return RawCard(card, portrait=portrait, files=files, warnings=warnings)


def _base64(raw: str) -> bytes:
    try:
        return base64.b64decode(raw.strip(), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCardError("the PNG's card chunk is not base64 JSON") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object(data: bytes, not_json: str) -> dict[str, Any]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        card = json.loads(data, parse_constant=_no_constant)
    except RecursionError as exc:
        raise MalformedCardError("the card nests too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCardError(not_json) from exc
    if not isinstance(card, dict):
        raise MalformedCardError("the card must be a JSON object")
    try:
        check_json_tree(card)
    except ValueError as exc:
        raise MalformedCardError(f"the card's JSON {exc}") from exc
    return card
