"""PNG (and APNG) text chunks, read and written without decoding a pixel.

Cards travel in `tEXt` chunks (`chara`, `ccv3`, `chara-ext-asset_:path`); some tools write
`iTXt` or `zTXt`. Reading walks the chunk list and stops at `IEND`; compressed text is
inflated with a bound. Writing replaces the card chunks of an existing PNG and keeps every
other chunk, so an animated portrait stays animated.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 16 * 1024 * 1024
CARD_CHUNK_KEYS = ("chara", "ccv3")
ASSET_PREFIX = "chara-ext-asset_"


class BrokenPngError(ValueError):
    pass


def is_png(data: bytes) -> bool:
    return data[:8] == PNG_SIGNATURE


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not is_png(data):
        raise BrokenPngError("not a PNG")
    out = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise BrokenPngError("the PNG is cut short")
        out.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES)
    except zlib.error as exc:
        raise BrokenPngError("a compressed text chunk is corrupt") from exc
    if inflater.unconsumed_tail:
        raise BrokenPngError("a compressed text chunk is too large")
    return out


def _text(kind: bytes, body: bytes) -> tuple[str, str] | None:
    keyword, sep, rest = body.partition(b"\x00")
    if not sep:
        return None
    key = keyword.decode("latin-1")
    if kind == b"tEXt":
        return key, rest.decode("latin-1")
    if kind == b"zTXt":
        return key, _inflate(rest[1:]).decode("latin-1")
    if kind == b"iTXt" and len(rest) >= 2:
        compressed = rest[0] == 1
        _lang, _, rest = rest[2:].partition(b"\x00")
        _translated, _, value = rest.partition(b"\x00")
        raw = _inflate(value) if compressed else value
        return key, raw.decode("utf-8", errors="replace")
    return None


def read_text_chunks(data: bytes) -> dict[str, str]:
    """Every text chunk by keyword (the first of each keyword wins)."""
    out: dict[str, str] = {}
    for kind, body in _chunks(data):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            try:
                found = _text(kind, body)
            except BrokenPngError:
                continue
            if found and found[0] not in out:
                out[found[0]] = found[1]
    return out


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def with_text_chunks(png: bytes, texts: dict[str, str]) -> bytes:
    """`png` with its card chunks replaced by `texts` (`tEXt`, written before `IEND`)."""
    kept = []
    for kind, body in _chunks(png):
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            key = body.partition(b"\x00")[0].decode("latin-1")
            if key in CARD_CHUNK_KEYS or key.startswith(ASSET_PREFIX):
                continue
        if kind == b"IEND":
            break
        kept.append(_chunk(kind, body))
    added = [
        _chunk(b"tEXt", k.encode("latin-1") + b"\x00" + v.encode("latin-1"))
        for k, v in texts.items()
    ]
    return PNG_SIGNATURE + b"".join(kept) + b"".join(added) + _chunk(b"IEND", b"")
