"""Compiled books kept between turns, keyed by the book's content: an unchanged book is
compiled once, an edited one again."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

from roleplay_chat.domain.lorebook.compiled import SOURCE_RANK, CompiledBook, compile_book
from roleplay_common.events import Lorebook

MAX_BOOKS = 64
_compiled: OrderedDict[tuple[str, int], CompiledBook] = OrderedDict()


def compiled_books(books: Sequence[Lorebook]) -> list[CompiledBook]:
    """The books compiled, the character's first, then the persona's, then the conversation's."""
    ordered = sorted(books, key=lambda b: SOURCE_RANK.get(b.source, len(SOURCE_RANK)))
    result = []
    for index, book in enumerate(ordered):
        fingerprint = hashlib.blake2b(book.model_dump_json().encode(), digest_size=16).hexdigest()
        key = (fingerprint, index)
        found = _compiled.get(key)
        if found is None:
            found = _compiled[key] = compile_book(book, index)
            while len(_compiled) > MAX_BOOKS:
                _compiled.popitem(last=False)
        else:
            _compiled.move_to_end(key)
        result.append(found)
    return result
