"""Regex keys between a card entry and SillyTavern world info.

A card entry says `use_regex` once for all its keys; world info has no such flag, and reads a
key written `/pattern/flags` as a regex and any other key as plain text. So a regex entry's
keys are written slashed (`i` unless the entry is case-sensitive), and an entry read back
with a slashed key is a regex entry whose slashed keys stay as they are (the chat reads
`/pattern/flags` too) and whose plain keys are escaped, so they still mean their own text.
The keys of a book exported from here come back as they were from `originalData`.
"""

from __future__ import annotations

import re

_SLASHED = re.compile(r"^/(.+)/([a-z]*)$", re.S)
_REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")


def _flags(case_sensitive: bool) -> str:
    return "" if case_sensitive else "i"


def is_slashed(key: str) -> bool:
    return _SLASHED.match(key) is not None


def slashed_keys(keys: list[str], *, case_sensitive: bool) -> list[str]:
    """A regex entry's keys as world info writes them."""
    flags = _flags(case_sensitive)
    return [key if is_slashed(key) else f"/{key}/{flags}" for key in keys]


def regex_keys(keys: list[str]) -> list[str]:
    """World info keys of an entry read as a regex entry (one of its keys is slashed)."""
    return [key if is_slashed(key) else _REGEX_SPECIAL.sub(r"\\\1", key) for key in keys]


def exported_as(original: object, keys: object, *, use_regex: bool, case_sensitive: bool) -> bool:
    """Whether world info `keys` are what an entry's `original` keys were written as."""
    if not isinstance(original, list) or not all(isinstance(k, str) for k in original):
        return False
    written = slashed_keys(original, case_sensitive=case_sensitive) if use_regex else original
    return written == keys
