"""Reading images a client uploads (card PNGs, portraits): bounded, and off the event loop.

Decoding is CPU work that would stall every other request on the loop, so callers run it with
`asyncio.to_thread`. A small file may claim a huge canvas (a decompression bomb); the size in
the header is checked against `MAX_PIXELS` before a single pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 4096 * 4096
"""More than any portrait or card needs; decoded as RGBA it is 64 MiB, so a few uploads at
once cannot exhaust memory."""


class UnreadableImageError(ValueError):
    pass


# What Pillow raises for files that are not (safe) images: truncated or corrupt data, and
# decompression bombs.
_PILLOW_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)


def open_image(data: bytes, *, decode: bool = True) -> Image.Image:
    """The image in `data`, its size checked; with `decode`, its pixels read and checked too.

    Raises `UnreadableImageError` for anything that is not an image within `MAX_PIXELS`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImageError(
                    f"the image is {width} x {height} pixels, more than the {MAX_PIXELS:,} allowed"
                )
            if decode:
                image.load()
            else:
                image.verify()
    except UnreadableImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImageError(
            f"the image claims more pixels than the {MAX_PIXELS:,} allowed"
        ) from exc
    except _PILLOW_ERRORS as exc:
        raise UnreadableImageError("the file is not a readable image") from exc
    return image
