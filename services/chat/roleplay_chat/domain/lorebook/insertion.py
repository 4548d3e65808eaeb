"""Where activated entries go, and which fit the token budget.

Placement: `@@position` / `@@depth` / `@@role` override the entry's fields (a `@@depth` alone
means at that depth; `@@position personality` / `scenario` puts it inside those fields of the
character); at a depth, the role defaults to system and the depth to `DEFAULT_DEPTH`. Within
each place, entries go by insertion order (lower first, so a higher order sits nearer the
end). Budget: the character's book before the others, then higher `priority` first (none
counts as 0), then higher insertion order, are kept while they fit the book's `token_budget`
and the overall budget; the rest are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from roleplay_chat.domain.lorebook.activation import Activation
from roleplay_chat.domain.lorebook.decorators import Position, Role

DEFAULT_DEPTH = 4


@dataclass(frozen=True)
class Insertion:
    activation: Activation
    position: Position
    depth: int
    role: Role
    text: str
    tokens: int


@dataclass(frozen=True)
class LoreLayout:
    before_char: list[Insertion] = field(default_factory=list)
    after_char: list[Insertion] = field(default_factory=list)
    at_depth: list[Insertion] = field(default_factory=list)
    personality: list[Insertion] = field(default_factory=list)
    """Inside the character's personality (`@@position personality`)."""
    scenario: list[Insertion] = field(default_factory=list)
    """Inside the character's scenario (`@@position scenario`)."""
    dropped: list[Activation] = field(default_factory=list)

    @property
    def kept(self) -> list[Insertion]:
        return [
            *self.before_char,
            *self.after_char,
            *self.at_depth,
            *self.personality,
            *self.scenario,
        ]

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.kept)


def _insertion(activation: Activation, tokens: int) -> Insertion:
    entry, decorators = activation.compiled.entry, activation.compiled.decorators
    position = decorators.position or entry.position
    if decorators.depth is not None and decorators.position is None:
        position = "at_depth"
    depth = decorators.depth if decorators.depth is not None else entry.depth
    return Insertion(
        activation=activation,
        position=position,
        depth=DEFAULT_DEPTH if depth is None else depth,
        role=decorators.role or entry.role or "system",
        text=activation.compiled.text,
        tokens=tokens,
    )


def place(
    activations: Sequence[Activation],
    *,
    budget: int | None,
    count: Callable[[str], int],
    render: Callable[[str], str] = lambda text: text,
) -> LoreLayout:
    """Keep what fits, then lay it out. `render` fills macros in each entry's text."""
    keep_order = sorted(
        activations,
        key=lambda a: (
            a.book.rank,
            -(a.compiled.entry.priority or 0),
            -a.compiled.entry.insertion_order,
        ),
    )
    remaining = budget
    per_book: dict[int, int] = {}
    kept: list[Insertion] = []
    dropped: list[Activation] = []
    for activation in keep_order:
        text = render(activation.compiled.text)
        if not text.strip():
            continue
        tokens = count(text)
        book = activation.book.book
        index = activation.compiled.book_index
        used = per_book.get(index, 0)
        if (remaining is not None and tokens > remaining) or (
            book.token_budget is not None and used + tokens > book.token_budget
        ):
            dropped.append(activation)
            continue
        per_book[index] = used + tokens
        if remaining is not None:
            remaining -= tokens
        insertion = _insertion(activation, tokens)
        kept.append(
            Insertion(
                insertion.activation,
                insertion.position,
                insertion.depth,
                insertion.role,
                text,
                tokens,
            )
        )
    kept.sort(key=lambda i: (i.activation.compiled.entry.insertion_order, i.activation.book.rank))
    return LoreLayout(
        before_char=[i for i in kept if i.position == "before_char"],
        after_char=[i for i in kept if i.position == "after_char"],
        at_depth=[i for i in kept if i.position == "at_depth"],
        personality=[i for i in kept if i.position == "personality"],
        scenario=[i for i in kept if i.position == "scenario"],
        dropped=dropped,
    )
