"""The lorebook engine: compile books once, activate entries for a turn, place them within a
token budget. Pure code, no I/O."""

from roleplay_chat.domain.lorebook.activation import Activation, activate, draw
from roleplay_chat.domain.lorebook.compiled import CompiledBook, compile_book, compile_books
from roleplay_chat.domain.lorebook.decorators import Decorators, parse_decorators
from roleplay_chat.domain.lorebook.insertion import Insertion, LoreLayout, place
from roleplay_chat.domain.lorebook.keys import is_catastrophic

__all__ = [
    "Activation",
    "CompiledBook",
    "Decorators",
    "Insertion",
    "LoreLayout",
    "activate",
    "compile_book",
    "compile_books",
    "draw",
    "is_catastrophic",
    "parse_decorators",
    "place",
]
