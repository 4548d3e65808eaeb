"""CHARX: a zip with `card.json` at its root and the card's assets beside it.

Assets are addressed from the card as `embeded://path` (the spec's spelling). Reading is
bounded: at most `MAX_FILES` members, `MAX_MEMBER_BYTES` each and `MAX_TOTAL_BYTES` in all,
counted while inflating, so a zip bomb stops at the bound.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from roleplay_gateway.characters.cards.errors import MalformedCardError

ZIP_SIGNATURE = b"PK\x03\x04"
MAX_FILES = 500
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
EMBEDDED = "embeded://"


@dataclass
class CharxContents:
    card_json: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    """Every other member by its path (the assets, and app-specific files)."""


def is_charx(data: bytes) -> bool:
    return data[:4] == ZIP_SIGNATURE


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    limit = min(MAX_MEMBER_BYTES, budget)
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise MalformedCardError(f"{info.filename} in the CHARX is too large")
    return data


def read_charx(data: bytes) -> CharxContents:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > MAX_FILES:
            raise MalformedCardError(f"the CHARX holds more than {MAX_FILES} files")
        card = next((i for i in members if i.filename == "card.json"), None)
        if card is None:
            raise MalformedCardError("the CHARX has no card.json at its root")
        budget = MAX_TOTAL_BYTES
        out = CharxContents(card_json=_read_member(archive, card, budget))
        budget -= len(out.card_json)
        for info in members:
            if info is card or info.flag_bits & 0x1:  # encrypted members are skipped
                continue
            content = _read_member(archive, info, budget)
            budget -= len(content)
            out.files[info.filename] = content
        return out
    except MalformedCardError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        OSError,
        EOFError,
    ) as exc:
        raise MalformedCardError("the CHARX is not a readable zip") from exc
    except RuntimeError as exc:  # encrypted card.json
        raise MalformedCardError("the CHARX is encrypted") from exc


def write_charx(card_json: bytes, files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", card_json)
        for path, content in files.items():
            archive.writestr(path, content)
    return out.getvalue()
