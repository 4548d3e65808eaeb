"""Real PNG images made on the fly: a gradient whose colours come from the prompt."""

from __future__ import annotations

import hashlib
import io
import zlib

from PIL import Image, ImageDraw


def render_png(prompt: str, width: int = 512, height: int = 512, pad_to: int = 0) -> bytes:
    digest = hashlib.sha256(prompt.encode()).digest()
    start, end = digest[:3], digest[3:6]
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(start, end, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)
    draw.rectangle([8, 8, width - 8, 40], fill=(0, 0, 0))
    draw.text((14, 16), ("STAND-IN " + prompt)[:80], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = out.getvalue()
    if pad_to > len(data):
        data = _pad(data, pad_to)
    return data


def _pad(png: bytes, size: int) -> bytes:
    """Insert an ancillary chunk before IEND so the file reaches `size` bytes and still decodes."""
    need = max(size - len(png) - 12, 0)
    payload = b"\0" * need
    chunk_type = b"pAdD"
    crc = zlib.crc32(chunk_type + payload).to_bytes(4, "big")
    chunk = len(payload).to_bytes(4, "big") + chunk_type + payload + crc
    return png[:-12] + chunk + png[-12:]
