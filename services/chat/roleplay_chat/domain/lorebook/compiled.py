"""A lorebook made ready for scanning: decorators parsed and keys compiled, once per book."""

from __future__ import annotations

from dataclasses import dataclass, field

from roleplay_chat.domain.lorebook.decorators import Decorators, parse_decorators
from roleplay_chat.domain.lorebook.keys import KeyMatcher
from roleplay_chat.domain.lorebook.literal_index import LiteralIndex
from roleplay_common.events import Lorebook, LorebookEntry

SOURCE_RANK = {"character": 0, "persona": 1, "conversation": 2}


@dataclass(frozen=True)
class CompiledEntry:
    book_index: int
    entry: LorebookEntry
    decorators: Decorators
    text: str
    keys: tuple[KeyMatcher, ...]
    secondary: tuple[KeyMatcher, ...]
    indexed: bool = False
    """Its keys alone (all literal, scanned at the book's depth) can activate it, so the
    book's literal index finds it without looking at it."""


@dataclass(frozen=True)
class CompiledBook:
    book: Lorebook
    entries: tuple[CompiledEntry, ...]
    indexes: tuple[LiteralIndex, ...] = ()
    by_needle: dict[tuple[bool, str], tuple[int, ...]] = field(default_factory=dict)
    """(case-insensitive?, key) → the positions in `entries` of the indexed entries with it."""

    @property
    def rank(self) -> int:
        return SOURCE_RANK.get(self.book.source, len(SOURCE_RANK))


def _matchers(keys: list[str], entry: LorebookEntry) -> tuple[KeyMatcher, ...]:
    return tuple(
        KeyMatcher(
            key,
            case_sensitive=entry.case_sensitive,
            whole_words=entry.match_whole_words,
            use_regex=entry.use_regex,
        )
        for key in keys
        if key.strip()
    )


def compile_book(book: Lorebook, book_index: int = 0) -> CompiledBook:
    """Enabled entries only; a disabled entry can never activate."""
    entries = []
    for entry in book.entries:
        if not entry.enabled:
            continue
        decorators, text = parse_decorators(entry.content)
        keys = _matchers(entry.keys, entry)
        entries.append(
            CompiledEntry(
                book_index=book_index,
                entry=entry,
                decorators=decorators,
                text=text,
                keys=keys,
                secondary=_matchers(entry.secondary_keys, entry),
                indexed=bool(keys)
                and not entry.constant
                and not decorators.activate
                and decorators.scan_depth is None
                and all(k.needle for k in keys),
            )
        )
    indexes = []
    for lower in (True, False):
        matchers = [
            m
            for e in entries
            for m in (*e.keys, *e.secondary)
            if m.needle is not None and m.case_sensitive != lower
        ]
        index = LiteralIndex((m.needle or "" for m in matchers), lower=lower)
        indexes.append(index)
        for matcher in matchers:
            matcher.index = index
    by_needle: dict[tuple[bool, str], list[int]] = {}
    for position, compiled in enumerate(entries):
        if compiled.indexed:
            for key in compiled.keys:
                by_needle.setdefault((not key.case_sensitive, key.needle or ""), []).append(
                    position
                )
    return CompiledBook(
        book=book,
        entries=tuple(entries),
        indexes=tuple(indexes),
        by_needle={k: tuple(v) for k, v in by_needle.items()},
    )


def compile_books(books: list[Lorebook]) -> list[CompiledBook]:
    """The character's book first, then the persona's, then the conversation's."""
    ordered = sorted(books, key=lambda b: SOURCE_RANK.get(b.source, len(SOURCE_RANK)))
    return [compile_book(book, index) for index, book in enumerate(ordered)]
