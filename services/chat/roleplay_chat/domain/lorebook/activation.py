"""Which entries a turn activates.

An enabled entry activates when it is constant (or `@@activate`), or when one of its keys is in
the scan text — the newest `scan_depth` messages (`@@scan_depth`, else the book's, else
`DEFAULT_SCAN_DEPTH`) — and its secondary keys pass the selective logic; `@@dont_activate`,
`@@activate_only_after N` (the chat holds at least N messages) and `@@activate_only_every N`
(the count is a multiple of N) gate it first. An entry with a `probability` below 100 then
passes a draw seeded from the turn and the entry, so a replayed turn activates the same
entries. Books with `recursive_scanning` scan the text of what was activated too, up to
`MAX_RECURSION` rounds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from roleplay_chat.domain.lorebook.compiled import CompiledBook, CompiledEntry
from roleplay_chat.domain.lorebook.keys import KeyMatcher, ScanText

DEFAULT_SCAN_DEPTH = 4
MAX_RECURSION = 3

Reason = Literal["key", "constant", "decorator", "recursion"]


@dataclass(frozen=True)
class Activation:
    compiled: CompiledEntry
    book: CompiledBook
    reason: Reason
    key: str | None = None


def draw(seed: str, book: CompiledBook, entry: CompiledEntry) -> float:
    """A number in [0, 100) fixed by the turn (`seed`), the book and the entry."""
    token = f"{seed}:{book.book.id or book.book.name}:{entry.entry.id}".encode()
    value = int.from_bytes(hashlib.blake2b(token, digest_size=8).digest(), "big")
    return value / 2**64 * 100


class _Scans:
    """Scan texts per depth over the chat, built once per turn."""

    def __init__(self, messages: Sequence[str]) -> None:
        self._messages = messages
        self._by_depth: dict[int, ScanText] = {}

    def at(self, depth: int) -> ScanText:
        scan = self._by_depth.get(depth)
        if scan is None:
            text = "\n".join(self._messages[-depth:]) if depth > 0 else ""
            scan = self._by_depth[depth] = ScanText(text)
        return scan


def _first_key(matchers: tuple[KeyMatcher, ...], scan: ScanText) -> str | None:
    for matcher in matchers:
        if matcher.matches(scan):
            return matcher.key
    return None


def _secondary_passes(entry: CompiledEntry, scan: ScanText) -> bool:
    if not entry.secondary:
        return True
    logic = entry.entry.selective_logic
    if logic == "and_any":
        return any(m.matches(scan) for m in entry.secondary)
    if logic == "not_any":
        return not any(m.matches(scan) for m in entry.secondary)
    hits = all(m.matches(scan) for m in entry.secondary)
    return hits if logic == "and_all" else not hits


def _gated(entry: CompiledEntry, message_count: int) -> bool:
    """Whether the decorators keep the entry out of this turn."""
    d = entry.decorators
    if d.dont_activate:
        return True
    if d.activate_only_after is not None and message_count < d.activate_only_after:
        return True
    return d.activate_only_every is not None and message_count % d.activate_only_every != 0


def _candidates(book: CompiledBook, scan: ScanText) -> set[int]:
    """Positions of the book's indexed entries one of whose keys is in the scan text."""
    found: set[int] = set()
    for index in book.indexes:
        for needle in scan.present(index):
            found.update(book.by_needle.get((index.lower, needle), ()))
    return found


def _lucky(seed: str, book: CompiledBook, entry: CompiledEntry) -> bool:
    probability = entry.entry.probability
    return probability is None or probability >= 100 or draw(seed, book, entry) < probability


def activate(
    books: Sequence[CompiledBook],
    messages: Sequence[str],
    *,
    seed: str,
    message_count: int | None = None,
    max_recursion: int = MAX_RECURSION,
) -> list[Activation]:
    """The activated entries, in book order (character's book first) and insertion order.

    `messages` is the chat, oldest first, ending with the newest message; `message_count` is
    the chat's length when `messages` holds only its tail.
    """
    count = len(messages) if message_count is None else message_count
    scans = _Scans(messages)
    activated: dict[tuple[int, str], Activation] = {}
    waiting: list[tuple[CompiledBook, CompiledEntry]] = []
    for book in books:
        book_depth = book.book.scan_depth if book.book.scan_depth is not None else None
        candidates = _candidates(
            book, scans.at(book_depth if book_depth is not None else DEFAULT_SCAN_DEPTH)
        )
        rescans = book.book.recursive_scanning
        for position, entry in enumerate(book.entries):
            if entry.indexed and position not in candidates:
                if rescans and not _gated(entry, count):
                    waiting.append((book, entry))
                continue
            if _gated(entry, count):
                continue
            reason: Reason | None = None
            key: str | None = None
            if entry.entry.constant:
                reason = "constant"
            elif entry.decorators.activate:
                reason = "decorator"
            else:
                depth = entry.decorators.scan_depth
                if depth is None:
                    depth = book_depth if book_depth is not None else DEFAULT_SCAN_DEPTH
                scan = scans.at(depth)
                key = _first_key(entry.keys, scan)
                if key is not None and _secondary_passes(entry, scan):
                    reason = "key"
                elif book.book.recursive_scanning and entry.keys:
                    waiting.append((book, entry))
            if reason is not None and _lucky(seed, book, entry):
                activated[(entry.book_index, entry.entry.id)] = Activation(entry, book, reason, key)
    fresh = list(activated.values())
    for _ in range(max_recursion):
        recursive = [a.compiled.text for a in fresh if a.book.book.recursive_scanning]
        if not recursive or not waiting:
            break
        text = "\n".join(recursive)
        scan = ScanText(text)
        fresh, still = [], []
        for book, entry in waiting:
            key = _first_key(entry.keys, scan)
            if key is not None and _secondary_passes(entry, scan):
                if _lucky(seed, book, entry):
                    found = Activation(entry, book, "recursion", key)
                    activated[(entry.book_index, entry.entry.id)] = found
                    fresh.append(found)
            else:
                still.append((book, entry))
        waiting = still
    return sorted(
        activated.values(),
        key=lambda a: (a.book.rank, a.compiled.entry.insertion_order, a.compiled.book_index),
    )
