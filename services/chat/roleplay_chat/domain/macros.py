"""Card macros, as SillyTavern and the V3 spec write them; names are case-insensitive.

`{{char}}` (the nickname, else the name), `{{user}}`, `<BOT>`, `<USER>`, `{{original}}` (the
text a card's own prompt replaces), `{{random:a,b}}` / `{{random::a::b}}`, `{{pick:...}}` (the
same choice for the same list all turn long), `{{roll:N}}` / `{{roll:dN}}` / `{{roll:XdN+K}}`
and `{{// comment}}` (removed). Every draw is seeded from the turn, so a replayed turn renders
the same text. Unknown `{{names}}` are left as written, for the template's own placeholders.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_MACRO = re.compile(r"\{\{([^{}]*)\}\}|<(BOT|USER)>", re.I)
MAX_NESTING = 4
_DICE = re.compile(r"^\s*(\d*)\s*d?\s*(\d+)\s*([+-]\s*\d+)?\s*$", re.I)
MAX_DICE = 100


@dataclass
class MacroContext:
    char: str
    user: str = "User"
    original: str = ""
    seed: str = ""
    _draws: int = field(default=0, repr=False)

    def number(self, salt: str, below: int) -> int:
        """A number in [0, below) fixed by the turn's seed and `salt`."""
        digest = hashlib.blake2b(f"{self.seed}:{salt}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % max(below, 1)

    def next_draw(self) -> int:
        self._draws += 1
        return self._draws


def _choices(arguments: str) -> list[str]:
    parts = arguments.split("::") if "::" in arguments else re.split(r"(?<!\\),", arguments)
    return [p.replace("\\,", ",").strip() for p in parts]


def _roll(arguments: str, context: MacroContext) -> str | None:
    dice = _DICE.match(arguments)
    if dice is None:
        return None
    count = min(int(dice.group(1) or 1), MAX_DICE)
    sides = int(dice.group(2))
    if sides < 1:
        return None
    draw = context.next_draw()
    total = sum(1 + context.number(f"roll:{draw}:{i}", sides) for i in range(count))
    return str(total + int((dice.group(3) or "0").replace(" ", "")))


def _expand(match: re.Match[str], context: MacroContext) -> str:
    if match.group(2) is not None:
        return context.char if match.group(2).upper() == "BOT" else context.user
    body = match.group(1)
    stripped = body.strip()
    if stripped.startswith("//"):
        return ""
    name, colon, arguments = stripped.partition(":")
    name = name.strip().lower()
    if not colon:
        if name == "char":
            return context.char
        if name == "user":
            return context.user
        if name == "original":
            return context.original
        return match.group(0)
    arguments = arguments.removeprefix(":") if name in ("random", "pick") else arguments
    if name == "random":
        options = _choices(arguments)
        return options[context.number(f"random:{context.next_draw()}", len(options))]
    if name == "pick":
        options = _choices(arguments)
        return options[context.number(f"pick:{arguments}", len(options))]
    if name == "roll":
        rolled = _roll(arguments, context)
        return match.group(0) if rolled is None else rolled
    return match.group(0)


def render(text: str, context: MacroContext) -> str:
    """The text with its macros filled, innermost first (a pick of `{{user}}` works)."""
    for _ in range(MAX_NESTING):
        if "{{" not in text and "<" not in text:
            break
        rendered = _MACRO.sub(lambda m: _expand(m, context), text)
        if rendered == text:
            break
        text = rendered
    return text
