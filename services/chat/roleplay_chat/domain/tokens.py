"""Token counting for the context budget, per model family.

Exact where an offline tokenizer ships inside a package: OpenAI's `o200k_base` (GPT-4o, 4.1,
5, o-series) and `cl100k_base` (GPT-4, 3.5) encodings come inside `bpe-openai`, nothing is
downloaded. Other families use a conservative estimate — the larger of characters/4 and
words*4/3 — scaled by a factor calibrated from what providers report as prompt tokens
(`Calibration`, a moving average per family, starting at 1 and kept within 0.5 to 2). A few
tokens of per-message overhead stand for what chat templates add.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

MESSAGE_OVERHEAD = 4
Counter = Callable[[str], int]

_O200K = re.compile(r"(^|/)(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o)", re.I)
_CL100K = re.compile(r"(^|/)(gpt-4|gpt-3\.5)", re.I)


class _Encoding(Protocol):
    def encode(self, text: str) -> list[int]: ...


def count_tokens(text: str) -> int:
    """The conservative estimate (no tokenizer)."""
    if not text:
        return 0
    by_chars = math.ceil(len(text) / 4)
    by_words = math.ceil(len(text.split()) * 4 / 3)
    return max(by_chars, by_words)


def count_message(content: str) -> int:
    return count_tokens(content) + MESSAGE_OVERHEAD


def family_of(model_name: str) -> str:
    """The family a model's counts are calibrated under: its vendor and first name part
    (`meta-llama/llama-3.1-8b` → `meta-llama/llama`)."""
    vendor, _, name = model_name.lower().rpartition("/")
    head = re.split(r"[-_.:\d]", name, maxsplit=1)[0] or name
    return f"{vendor}/{head}" if vendor else head


@lru_cache(maxsize=4)
def _encoding(name: str) -> _Encoding | None:
    try:
        import bpe_openai  # type: ignore[import-untyped]  # loaded on first use (70 ms)
    except ImportError:
        return None
    encoding: _Encoding = bpe_openai.get_encoding(name)
    return encoding


def exact_encoding(model_name: str) -> str | None:
    if _O200K.search(model_name):
        return "o200k_base"
    if _CL100K.search(model_name):
        return "cl100k_base"
    return None


class Calibration:
    """Reported prompt tokens over our estimate, per family, as a moving average."""

    def __init__(self, weight: float = 0.2, low: float = 0.5, high: float = 2.0) -> None:
        self.weight, self.low, self.high = weight, low, high
        self.factors: dict[str, float] = {}

    def factor(self, model_name: str) -> float:
        return self.factors.get(family_of(model_name), 1.0)

    def observe(self, model_name: str, estimated: int, reported: int | None) -> None:
        if not reported or estimated <= 0 or exact_encoding(model_name):
            return
        family = family_of(model_name)
        # The estimate already carries the factor: recover the raw ratio.
        raw = reported / (estimated / self.factors.get(family, 1.0))
        current = self.factors.get(family, 1.0)
        blended = current + self.weight * (raw - current)
        self.factors[family] = min(max(blended, self.low), self.high)


CALIBRATION = Calibration()


def counter_for(model_name: str, calibration: Calibration = CALIBRATION) -> Counter:
    """How to count a text's tokens for this model (without message overhead)."""
    name = exact_encoding(model_name)
    encoding = _encoding(name) if name else None
    if encoding is not None:
        return lambda text: len(encoding.encode(text)) if text else 0
    factor = calibration.factor(model_name)
    if factor == 1.0:
        return count_tokens
    return lambda text: math.ceil(count_tokens(text) * factor)
