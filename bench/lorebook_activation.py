"""`python -m bench lorebook_activation` — lorebook activation time, in process.

1,000 entries (plain keys, whole words, case-sensitive, regex, secondary keys, probability,
decorators) against a 2,500-message chat at scan depth 10: each round activates the book
for the next message of the chat, as a turn would. Books are compiled once (as per book),
the compile time printed apart, and the time a turn takes to find its book already compiled
(the cache is keyed by the book's content). Goal: p99 <= 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from roleplay_chat.domain.lorebook import activate, compile_books
from roleplay_chat.domain.lorebook.cache import compiled_books
from roleplay_common.events import Lorebook, LorebookEntry

WORDS = [
    f"{a}{b}"
    for a in ("ka", "lo", "mi", "ne", "ru", "so", "ta", "vi")
    for b in ("ran", "dor", "lith", "mar", "quen", "sel", "thal", "wyn", "zor", "bel", "cor", "dun")
]


def make_entries(rng: random.Random, count: int) -> list[LorebookEntry]:
    entries = []
    for i in range(count):
        keys = [f"{rng.choice(WORDS)}{rng.choice(WORDS)}" for _ in range(rng.randint(1, 3))]
        fields: dict[str, object] = {}
        kind = i % 10
        if kind == 0:
            fields["use_regex"] = True
            keys = [f"/{keys[0]}(s|es)?\\b/i"]
        elif kind == 1:
            fields["match_whole_words"] = True
        elif kind == 2:
            fields["case_sensitive"] = True
            keys = [k.capitalize() for k in keys]
        elif kind == 3:
            fields["secondary_keys"] = [rng.choice(WORDS)]
            fields["selective_logic"] = rng.choice(["and_any", "not_any", "and_all"])
        elif kind == 4:
            fields["probability"] = 50
        content = f"Lore {i}: " + " ".join(rng.choice(WORDS) for _ in range(30))
        if kind == 5:
            content = "@@depth 3\n@@role system\n" + content
        entries.append(
            LorebookEntry(id=f"e{i}", keys=keys, content=content, insertion_order=i, **fields)
        )
    return entries


def make_chat(rng: random.Random, entries: list[LorebookEntry], count: int) -> list[str]:
    keys = [k for e in entries for k in e.keys if not e.use_regex]
    chat = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 120))]
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randrange(len(words)), rng.choice(keys))
        chat.append(" ".join(words))
    return chat


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench lorebook_activation")
    parser.add_argument("name", nargs="?")
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=2500)
    parser.add_argument("--scan-depth", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(11)
    entries = make_entries(rng, args.entries)
    chat = make_chat(rng, entries, args.messages)
    book = Lorebook(name="bench", scan_depth=args.scan_depth, entries=entries)
    started = time.perf_counter()
    books = compile_books([book])
    compile_ms = (time.perf_counter() - started) * 1000
    compiled_books([book])
    started = time.perf_counter()
    compiled_books([book])
    lookup_ms = (time.perf_counter() - started) * 1000
    samples, activated = [], []
    for round_ in range(args.rounds):
        end = args.scan_depth + round_ * (args.messages - args.scan_depth) // args.rounds
        started = time.perf_counter()
        found = activate(books, chat[:end], seed=f"turn-{round_}")
        samples.append((time.perf_counter() - started) * 1000)
        activated.append(len(found))
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(
        f"lorebook_activation: {args.entries} entries, {args.messages} messages, scan depth "
        f"{args.scan_depth}, {args.rounds} rounds; compile {compile_ms:.1f} ms once, "
        f"then {lookup_ms:.1f} ms a turn to find it compiled (by content); "
        f"activation p50 {statistics.median(samples):.2f} ms, p99 {p99:.2f} ms, "
        f"max {samples[-1]:.2f} ms; entries activated per round "
        f"{statistics.median(activated):.0f} (median); goal p99 <= 5 ms: "
        f"{'met' if p99 <= 5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
