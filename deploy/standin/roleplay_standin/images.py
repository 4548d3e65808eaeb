"""Real PNGs made on the fly for the STAND-IN's image APIs.

A gradient and a disc whose colours come from a hash of the prompt and seed, with a banner
saying STAND-IN and the prompt written on it. The same spec always gives the same bytes. A
PNG can be padded to a target size (an ancillary `stNd` chunk before `IEND`, which decoders
skip) so benchmarks can move realistic amounts of data. Files are kept as specs and rendered
when fetched, so memory stays small however many jobs run.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import textwrap
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

MIN_SIDE, MAX_SIDE = 16, 2048
FAL_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


@dataclass(frozen=True)
class ImageSpec:
    prompt: str
    width: int = 512
    height: int = 512
    seed: int = 0
    pad_to: int = 0
    note: str = ""


def prompt_seed(prompt: str) -> int:
    """A seed derived from the prompt (stable across processes, unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:4], "big") & 0x7FFFFFFF


def side(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(MIN_SIDE, min(MAX_SIDE, number))


def image_count(value: Any, limit: int = 4) -> int:
    """How many images were asked for (`num_images`, `num_outputs`, `n`), 1 to `limit`."""
    try:
        return max(1, min(int(value), limit))
    except (TypeError, ValueError):
        return 1


def fal_image_size(value: Any, default: int) -> tuple[int, int]:
    """fal's `image_size`: a preset name (`square_hd`, `landscape_16_9`, …) or
    `{width, height}`."""
    if isinstance(value, str) and value in FAL_SIZES:
        return FAL_SIZES[value]
    if isinstance(value, dict):
        return side(value.get("width"), default), side(value.get("height"), default)
    return default, default


def openai_image_size(value: Any, default: int) -> tuple[int, int]:
    """OpenAI's `size`: `"1024x1024"`, or `"auto"`."""
    width, sep, height = str(value or "").partition("x")
    if not sep:
        return default, default
    return side(width, default), side(height, default)


def replicate_image_size(inputs: dict[str, Any], default: int) -> tuple[int, int]:
    """Replicate inputs: `width`/`height`, or an `aspect_ratio` such as `"16:9"`."""
    if "width" in inputs or "height" in inputs:
        return side(inputs.get("width"), default), side(inputs.get("height"), default)
    wide, sep, tall = str(inputs.get("aspect_ratio") or "").partition(":")
    try:
        ratio = float(wide) / float(tall) if sep else 1.0
    except (ValueError, ZeroDivisionError):
        ratio = 1.0
    if ratio >= 1:
        return default, side(round(default / ratio), default)
    return side(round(default * ratio), default), default


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render_png(spec: ImageSpec) -> bytes:
    digest = hashlib.sha256(f"{spec.seed}|{spec.prompt}".encode()).digest()
    top, bottom, accent = digest[0:3], digest[3:6], digest[6:9]
    width, height = spec.width, spec.height
    gradient = Image.linear_gradient("L").resize((width, height))
    image = ImageOps.colorize(gradient, tuple(top), tuple(bottom))
    draw = ImageDraw.Draw(image)
    cx, cy = digest[9] / 255 * width, digest[10] / 255 * height
    radius = (0.15 + digest[11] / 255 * 0.25) * min(width, height)
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=tuple(accent))
    size = max(8, min(width, height) // 28)
    font = _font(size)
    chars = max(8, int(width / (size * 0.55)))
    lines = [
        "STAND-IN image - not a real model",
        *textwrap.wrap(spec.prompt, chars)[:4],
        *([spec.note] if spec.note else []),
        f"seed {spec.seed}",
    ]
    banner = min(height, (len(lines) + 1) * (size + 4))
    draw.rectangle([0, 0, width, banner], fill=(0, 0, 0))
    for n, line in enumerate(lines):
        draw.text((size // 2, size // 2 + n * (size + 4)), line, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = out.getvalue()
    return pad_png(data, spec.pad_to) if spec.pad_to > len(data) else data


def pad_png(png: bytes, size: int) -> bytes:
    """Insert a private ancillary chunk before `IEND` so the file is `size` bytes long."""
    payload = b"\0" * max(size - len(png) - 12, 0)
    chunk_type = b"stNd"
    crc = zlib.crc32(chunk_type + payload).to_bytes(4, "big")
    chunk = len(payload).to_bytes(4, "big") + chunk_type + payload + crc
    return png[:-12] + chunk + png[-12:]


_render_cached = functools.lru_cache(maxsize=16)(render_png)


async def render(spec: ImageSpec) -> bytes:
    """Render off the event loop (a large image takes tens of milliseconds)."""
    return await asyncio.to_thread(_render_cached, spec)


class FileStore:
    """`/files/{name}` entries: the spec of each image, rendered when fetched."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._specs: OrderedDict[str, ImageSpec] = OrderedDict()

    def add(self, name: str, spec: ImageSpec) -> str:
        self._specs[name] = spec
        while len(self._specs) > self.limit:
            self._specs.popitem(last=False)
        return name

    def get(self, name: str) -> ImageSpec | None:
        return self._specs.get(name)
