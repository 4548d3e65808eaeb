"""`Content-Disposition` for downloads, per RFC 6266: any file name, never a broken header.

HTTP header values are Latin-1 at most, so a name like "Мира.png" cannot go in `filename=`
as it is. The header carries an ASCII fallback in `filename=` for old clients and the real
name, UTF-8 and percent-encoded (RFC 8187), in `filename*=`, which current clients prefer.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 ._()-]+")


def attachment(name: str, extension: str, *, fallback: str = "download") -> str:
    """The header value that offers `name.extension` as a download (`extension` is ours,
    plain ASCII; `name` may be anything a client typed)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = _NOT_PLAIN.sub("_", plain).strip(" ._") or fallback
    encoded = quote(f"{name}.{extension}".encode("utf-8", errors="replace"), safe="")
    return f"attachment; filename=\"{plain}.{extension}\"; filename*=UTF-8''{encoded}"
