"""Which memory items a prompt carries: pinned first, then the most relevant, per tier.

Relevance is behind `Relevance`, so embeddings can replace the lexical score later: today an
item scores by the words it shares with the recent messages, rarer words counting more. Each
tier gets its own share of the model's budget (`TIER_SHARES`), so a long profile never crowds
out what happened in this story.
"""

from __future__ import annotations

import math
import re
from collections import Counter as Bag
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

TIER_SHARES = {"conversation": 0.08, "character": 0.05, "profile": 0.04}
TIER_ORDER = ("profile", "character", "conversation")
RECENT_MESSAGES = 6
_WORD = re.compile(r"[^\W\d_]{3,}|\d+", re.U)
_STOP_WORDS = """the and for are but not you your with this that have has was were they them
their there what when where which who will would can could should from into about just like she
her him his its our out all any one too very then than also"""
_STOP = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True)
class MemoryNote:
    """A memory item as the prompt sees it."""

    id: str
    tier: str
    text: str
    pinned: bool = False


class Relevance(Protocol):
    def scores(self, recent: Sequence[str], texts: Sequence[str]) -> list[float]:
        """One score per text: how much it bears on the recent messages (higher: more)."""
        ...


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


class LexicalRelevance:
    """Shared words, each weighted by how rare it is among the items (an idf), over the
    square root of the item's length, so short precise items are not outscored by long ones."""

    def scores(self, recent: Sequence[str], texts: Sequence[str]) -> list[float]:
        query = set().union(*(words(t) for t in recent)) if recent else set()
        bags = [words(t) for t in texts]
        df = Bag(w for bag in bags for w in bag)
        n = len(bags)
        return [
            sum(math.log(1 + n / df[w]) for w in bag & query) / math.sqrt(len(bag) or 1)
            for bag in bags
        ]


LEXICAL = LexicalRelevance()


def rank(
    notes: Sequence[MemoryNote], recent: Sequence[str], relevance: Relevance = LEXICAL
) -> list[MemoryNote]:
    """Pinned items first, then by relevance to the recent messages; ties keep the newer."""
    scores = relevance.scores(list(recent)[-RECENT_MESSAGES:], [n.text for n in notes])
    order = sorted(range(len(notes)), key=lambda i: (not notes[i].pinned, -scores[i], -i))
    return [notes[i] for i in order]


def select(
    ranked: Sequence[MemoryNote], *, budget: int, room: int, count: Callable[[str], int]
) -> list[MemoryNote]:
    """In rank order, what fits each tier's share of `budget`, and `room` over all."""
    left = {tier: int(budget * share) for tier, share in TIER_SHARES.items()}
    chosen = []
    for note in ranked:
        cost = count(note.text) + 2
        if cost <= left.get(note.tier, 0) and cost <= room:
            chosen.append(note)
            left[note.tier] -= cost
            room -= cost
    return chosen


def section(notes: Sequence[MemoryNote], *, character: str, user: str) -> str:
    """The memory block of the system message, grouped by tier."""
    titles = {
        "profile": f"WHAT YOU KNOW ABOUT {user.upper()}:",
        "character": f"WHAT {character.upper()} REMEMBERS FROM EARLIER CHATS WITH {user.upper()}:",
        "conversation": "KEY FACTS OF THIS STORY:",
    }
    parts = []
    for tier in TIER_ORDER:
        lines = [f"- {n.text}" for n in notes if n.tier == tier]
        if lines:
            parts.append("\n".join([titles[tier], *lines]))
    return "\n\n".join(parts)
