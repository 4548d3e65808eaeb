"""A lorebook made ready for scanning: decorators parsed and keys compiled, once per book."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class CompiledBook:
    book: Lorebook
    entries: tuple[CompiledEntry, ...]

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
        entries.append(
            CompiledEntry(
                book_index=book_index,
                entry=entry,
                decorators=decorators,
                text=text,
                keys=_matchers(entry.keys, entry),
                secondary=_matchers(entry.secondary_keys, entry),
            )
        )
    for lower in (True, False):
        matchers = [
            m
            for e in entries
            for m in (*e.keys, *e.secondary)
            if m.needle is not None and m.case_sensitive != lower
        ]
        index = LiteralIndex((m.needle or "" for m in matchers), lower=lower)
        for matcher in matchers:
            matcher.index = index
    return CompiledBook(book=book, entries=tuple(entries))


def compile_books(books: list[Lorebook]) -> list[CompiledBook]:
    """The character's book first, then the persona's, then the conversation's."""
    ordered = sorted(books, key=lambda b: SOURCE_RANK.get(b.source, len(SOURCE_RANK)))
    return [compile_book(book, index) for index, book in enumerate(ordered)]
