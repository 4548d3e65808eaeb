"""V3 lorebook decorators: `@@name value` lines at the head of an entry's content.

A `@@@name value` line is a fallback: it applies only when the decorator just before it could
not be applied (unknown name or bad value). Decorators are stripped from the inserted text.
`@@position` takes the spec's `before_desc`/`after_desc` (before or after the character, as
`before_char`/`after_char`), `personality` and `scenario` (inside those of the character).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Position = Literal["before_char", "after_char", "at_depth", "personality", "scenario"]
Role = Literal["system", "user", "assistant"]

_POSITIONS: dict[str, Position] = {
    "before_char": "before_char",
    "before_desc": "before_char",
    "after_char": "after_char",
    "after_desc": "after_char",
    "at_depth": "at_depth",
    "personality": "personality",
    "scenario": "scenario",
}
_ROLES: dict[str, Role] = {"system": "system", "user": "user", "assistant": "assistant"}


@dataclass(frozen=True)
class Decorators:
    depth: int | None = None
    role: Role | None = None
    position: Position | None = None
    activate_only_after: int | None = None
    activate_only_every: int | None = None
    dont_activate: bool = False
    activate: bool = False
    scan_depth: int | None = None


def _natural(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def _apply(found: Decorators, name: str, value: str) -> Decorators | None:
    """The decorators with this one applied, or None when it does not apply."""
    value = value.strip()
    if name in ("depth", "activate_only_after", "activate_only_every", "scan_depth"):
        number = _natural(value)
        if number is None or (name == "activate_only_every" and number == 0):
            return None
        if name == "depth":
            return replace(found, depth=number)
        if name == "scan_depth":
            return replace(found, scan_depth=number)
        if name == "activate_only_after":
            return replace(found, activate_only_after=number)
        return replace(found, activate_only_every=number)
    if name == "role":
        role = _ROLES.get(value.lower())
        return replace(found, role=role) if role else None
    if name == "position":
        position = _POSITIONS.get(value.lower())
        return replace(found, position=position) if position else None
    if name == "dont_activate" and not value:
        return replace(found, dont_activate=True)
    if name == "activate" and not value:
        return replace(found, activate=True)
    return None


def parse_decorators(content: str) -> tuple[Decorators, str]:
    """Read the decorator lines at the head of `content`; return them and the remaining text."""
    found = Decorators()
    if not content.startswith("@@"):
        return found, content
    lines = content.split("\n")
    last_applied = True
    index = 0
    for index, line in enumerate(lines):  # noqa: B007 - index is used after the loop
        stripped = line.strip()
        if not stripped.startswith("@@"):
            break
        name, _, value = stripped.lstrip("@").partition(" ")
        if stripped.startswith("@@@") and last_applied:
            continue
        applied = _apply(found, name.strip().lower(), value)
        if applied is not None:
            found = applied
        last_applied = applied is not None
    else:
        index = len(lines)
    return found, "\n".join(lines[index:]).strip()
