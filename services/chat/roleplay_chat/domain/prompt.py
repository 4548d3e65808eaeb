"""Prompt assembly for a roleplay turn, as pure functions.

`plan_prompt` (`prompt_plan.py`) does the per-turn work once; `assemble` fits it to one
model's context, in this order of need: the system prompt, the instruction, the post-history
instructions, the depth prompt and the author's note; the newest message (cut with a visible
marker when it alone is too long); memory items (each tier within its share,
`memory_recall`); lorebook entries within their budget (`LORE_SHARE` of the context at most,
and each book's own); older history, newest first; then example dialogue, pruned first as
history grows.

Messages: one system message (lore before the character, the system prompt, lore after it,
the kept examples), the history with depth insertions (the depth prompt, the author's note
and lore entries, `depth` messages from the end; 0 is after the newest), the post-history
instructions, the instruction. Entries placed `@@position personality|scenario` go inside
the system prompt's personality and scenario (after the character when it has neither).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from roleplay_chat.domain.lorebook import Activation, Insertion, LoreLayout, place
from roleplay_chat.domain.macros import render
from roleplay_chat.domain.memory_recall import MemoryNote, section, select
from roleplay_chat.domain.prompt_blocks import BlockKind, PromptBlock, Role, truncate_to_fit
from roleplay_chat.domain.prompt_plan import Insert, PromptPlan, plan_prompt, turn_books
from roleplay_chat.domain.system_prompt import (
    DEFAULT_TEMPLATE,
    KICKOFF_INSTRUCTION,
    NSFW_NOTE,
    SFW_NOTE,
    HistoryMessage,
    Memory,
    adultify,
    fill,
    placeholders,
    system_prompt,
)
from roleplay_chat.domain.tokens import MESSAGE_OVERHEAD, Counter, count_tokens
from roleplay_common.events import LorebookActivation

LORE_SHARE = 0.25
EXAMPLES_HEADER = "Example dialogue (for style only, not part of the story):"


@dataclass(frozen=True)
class ChatPrompt:
    messages: list[dict[str, str]]
    tokens_in: int
    kept: int
    dropped: int
    max_tokens: int = 0
    system: str = field(default="", repr=False)
    blocks: list[PromptBlock] = field(default_factory=list, repr=False)
    lore: LoreLayout = field(default_factory=LoreLayout, repr=False)
    activations: list[Activation] = field(default_factory=list, repr=False)
    budget: int = 0
    truncated: bool = False
    memory: list[MemoryNote] = field(default_factory=list, repr=False)

    @property
    def fits(self) -> bool:
        """False when even the parts that cannot be dropped (system prompt, instructions, the
        newest message cut to its marker) exceed the model's context: the turn is refused."""
        return self.tokens_in <= self.budget


def _lore_source(activation: Activation) -> str:
    book = activation.book.book
    return f"lorebook:{book.source}:{book.id or book.name}:{activation.compiled.entry.id}"


def _with_lore_inside(plan: PromptPlan, lore: LoreLayout) -> tuple[str, list[Insertion]]:
    """The system prompt with the entries placed inside the character's personality and
    scenario, and the entries after the character: those placed there, and those the prompt
    had no personality or scenario for (a template without them)."""
    inside = [*lore.personality, *lore.scenario]
    if not inside or plan.system_with_lore is None:
        return plan.system, [*lore.after_char, *inside]
    system = plan.system_with_lore(
        personality_lore="\n".join(i.text for i in lore.personality),
        scenario_lore="\n".join(i.text for i in lore.scenario),
    )
    return system, [*lore.after_char, *(i for i in inside if i.text not in system)]


def assemble(
    plan: PromptPlan,
    *,
    context_window: int,
    max_output_tokens: int,
    count: Counter = count_tokens,
) -> ChatPrompt:
    """The messages for one model: everything within `context_window - max_output_tokens`,
    counted with the model's `count` (`tokens.counter_for`)."""
    nsfw = plan.command.content_mode == "nsfw"

    def count_message(content: str) -> int:
        return count(content) + MESSAGE_OVERHEAD

    def clean(text: str) -> str:
        return adultify(text) if nsfw else text

    available = max(context_window - max_output_tokens, 0)
    fixed = count_message(plan.system)
    if plan.instruction:
        fixed += count_message(plan.instruction)
    if plan.post_history:
        fixed += count_message(plan.post_history)
    if plan.depth_prompt:
        fixed += count_message(plan.depth_prompt.text)
    if plan.author_note:
        fixed += count_message(plan.author_note.text)

    history = list(plan.history)
    truncated = False
    newest_cost = 0
    if history:
        newest = history[-1]
        room = max(available - fixed, 0)
        if count_message(newest.content) > room:
            newest = HistoryMessage(newest.sender, truncate_to_fit(newest.content, room, count))
            history[-1] = newest
            truncated = True
        newest_cost = count_message(newest.content)

    memory = select(
        plan.memory,
        budget=available,
        room=max(available - fixed - newest_cost, 0),
        count=count,
    )
    memory_text = clean(section(memory, character=plan.macros.char, user=plan.macros.user))
    if memory_text:
        fixed += count(memory_text) + 2

    lore_room = max(available - fixed - newest_cost, 0)
    # Draws restart for each model tried, so every route (and the preview) renders the same.
    macros = replace(plan.macros, _draws=0)
    lore = place(
        plan.activations,
        budget=min(int(available * LORE_SHARE), lore_room),
        count=count_message,
        render=lambda text: clean(render(text, macros).strip()),
    )
    remaining = available - fixed - newest_cost - lore.tokens
    system, after_char = _with_lore_inside(plan, lore)

    kept: list[HistoryMessage] = history[-1:]
    for message in reversed(history[:-1]):
        cost = count_message(message.content)
        if cost > remaining:
            break
        kept.append(message)
        remaining -= cost
    kept.reverse()

    examples: list[str] = []
    header_cost = count(EXAMPLES_HEADER) + 2
    for example in plan.examples:
        cost = count(example) + 2 + (header_cost if not examples else 0)
        if cost > remaining:
            break
        examples.append(example)
        remaining -= cost

    blocks: list[PromptBlock] = []

    def block(kind: BlockKind, source: str, role: Role, text: str) -> None:
        blocks.append(PromptBlock(kind, source, role, text, count(text)))

    for item in lore.before_char:
        block("lore_before", _lore_source(item.activation), "system", item.text)
    block("system", "template+character", "system", system)
    if memory_text:
        block("memory", "memory:" + ",".join(n.id for n in memory), "system", memory_text)
    for item in after_char:
        block("lore_after", _lore_source(item.activation), "system", item.text)
    for example in examples:
        block("example", "character.example_dialogue", "system", clean(example))
    system_parts = [b.text for b in blocks]
    if examples:
        system_parts.insert(len(system_parts) - len(examples), EXAMPLES_HEADER)
    messages = [{"role": "system", "content": "\n\n".join(p for p in system_parts if p)}]

    inserts = [
        Insert("lore_depth", _lore_source(i.activation), i.role, i.depth, i.text)
        for i in lore.at_depth
    ]
    if plan.depth_prompt:
        inserts.append(replace(plan.depth_prompt, text=clean(plan.depth_prompt.text)))
    if plan.author_note:
        inserts.append(replace(plan.author_note, text=clean(plan.author_note.text)))
    for index, message in enumerate(kept):
        from_end = len(kept) - index
        for insert in inserts:
            if insert.depth == from_end or (index == 0 and insert.depth > from_end):
                block(insert.kind, insert.source, insert.role, insert.text)
                messages.append({"role": insert.role, "content": insert.text})
        role: Role = "user" if message.sender == "user" else "assistant"
        block("history", "message", role, clean(message.content))
        messages.append({"role": role, "content": clean(message.content)})
    for insert in inserts:
        if insert.depth == 0 or not kept:
            block(insert.kind, insert.source, insert.role, insert.text)
            messages.append({"role": insert.role, "content": insert.text})
    if plan.post_history:
        post_history = clean(plan.post_history)
        block("post_history", "character.post_history_instructions", "system", post_history)
        messages.append({"role": "system", "content": post_history})
    if plan.instruction:
        block("instruction", "turn", "user", plan.instruction)
        messages.append({"role": "user", "content": plan.instruction})

    tokens_in = sum(count_message(m["content"]) for m in messages)
    return ChatPrompt(
        messages=messages,
        tokens_in=tokens_in,
        kept=len(kept),
        dropped=len(plan.history) - len(kept),
        max_tokens=max(min(max_output_tokens, context_window - tokens_in), 16),
        system=system,
        blocks=blocks,
        lore=lore,
        activations=plan.activations,
        budget=available,
        truncated=truncated,
        memory=memory,
    )


__all__ = [
    "DEFAULT_TEMPLATE",
    "KICKOFF_INSTRUCTION",
    "NSFW_NOTE",
    "SFW_NOTE",
    "ChatPrompt",
    "HistoryMessage",
    "Memory",
    "PromptPlan",
    "activation_records",
    "adultify",
    "assemble",
    "count_tokens",
    "fill",
    "placeholders",
    "plan_prompt",
    "system_prompt",
    "turn_books",
]


def activation_records(prompt: ChatPrompt) -> list[LorebookActivation]:
    """What the turn activated, for the completed fact."""
    inserted = {id(i.activation) for i in prompt.lore.kept}
    return [
        LorebookActivation(
            book_id=a.book.book.id,
            book_name=a.book.book.name,
            book_source=a.book.book.source,
            entry_id=a.compiled.entry.id,
            reason=a.reason,
            key=a.key,
            inserted=id(a) in inserted,
        )
        for a in prompt.activations
    ]
