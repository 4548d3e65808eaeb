"""All plain keys of a book in one pass over the scan text.

The keys are compiled once per book into a trie-shaped regular expression inside a lookahead,
so one scan finds, at every position, the longest key starting there (overlapping matches
included); a key that is a prefix of a found one is present too. This turns a thousand
substring searches per turn into one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

Trie = dict[str, "Trie"]
_END = ""


def _trie_pattern(node: Trie) -> str:
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in node.items() if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if _END in node else body


class LiteralIndex:
    """The plain keys of one book for one case mode (`lower`: keys and text lower-cased)."""

    def __init__(self, needles: Iterable[str], *, lower: bool) -> None:
        self.lower = lower
        distinct = {n for n in needles if n}
        trie: Trie = {}
        for needle in sorted(distinct):
            node = trie
            for ch in needle:
                node = node.setdefault(ch, {})
            node[_END] = {}
        self._pattern = re.compile(f"(?=({_trie_pattern(trie)}))", re.S) if distinct else None
        self._covers = {
            needle: [needle[:i] for i in range(1, len(needle) + 1) if needle[:i] in distinct]
            for needle in distinct
        }

    def present(self, text: str) -> frozenset[str]:
        """The keys that occur in `text`."""
        if self._pattern is None:
            return frozenset()
        found: set[str] = set()
        for longest in {m.group(1) for m in self._pattern.finditer(text)}:
            if longest:
                found.update(self._covers[longest])
        return frozenset(found)
