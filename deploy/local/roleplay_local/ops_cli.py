"""`roleplay dlq`, `roleplay replay` and `roleplay events`: the operator's event tools.

They talk to Kafka only (`ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS`, `ROLEPLAY_KAFKA_TOPIC_PREFIX`;
by default the local infrastructure's broker), and show a progress bar while reading topics.
The event modules are imported on use, so `roleplay infra …` starts fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from roleplay_common.ops.dead_letters import DeadLetter

dlq_app = typer.Typer(help="Dead letters: list, show, redrive.", no_args_is_help=True)
events_app = typer.Typer(
    help="The event log: follow it, or look one event up.", no_args_is_help=True
)

ServiceOption = Annotated[
    str | None, typer.Option("--service", "-s", help="Only this service's dead letters.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
console = Console(stderr=True)


@contextlib.contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar (on stderr) and the callback that moves it."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _letters(service: str | None) -> list[DeadLetter]:
    from roleplay_common.ops.dead_letters import list_dead_letters
    from roleplay_common.settings import KafkaSettings

    with _progress("reading dead letters") as advance:
        return asyncio.run(list_dead_letters(KafkaSettings(), service=service, progress=advance))


@dlq_app.command("list")
def dlq_list(service: ServiceOption = None, as_json: AsJson = False) -> None:
    """Every dead letter, oldest first."""
    letters = _letters(service)
    if as_json:
        typer.echo(json.dumps([d.summary() for d in letters], indent=2))
        return
    table = Table("id", "service", "when", "event type", "error", "tries", "redriven")
    for d in letters:
        s = d.summary()
        table.add_row(
            d.id,
            d.service,
            str(s["dead_lettered_at"])[:19],
            str(s["event_type"]),
            f"{d.record.error_type}: {d.record.error[:80]}",
            str(d.record.attempts),
            "yes" if d.redriven else "",
        )
    Console().print(table)
    typer.echo(f"{len(letters)} dead letter(s)")


@dlq_app.command("show")
def dlq_show(
    dead_letter_id: Annotated[str | None, typer.Argument(metavar="ID")] = None,
    by_option: Annotated[str | None, typer.Option("--id", help="The dead letter.")] = None,
    service: ServiceOption = None,
) -> None:
    """One dead letter: why, where it came from, its headers and the original envelope."""
    dead_letter_id = dead_letter_id or by_option
    if dead_letter_id is None:
        raise typer.BadParameter("give the dead letter's id (ID or --id ID)")
    found = [d for d in _letters(service) if d.id == dead_letter_id]
    if not found:
        typer.echo(f"no dead letter {dead_letter_id}", err=True)
        raise typer.Exit(1)
    letter = found[0]
    typer.echo(
        json.dumps(
            {**letter.summary(), "headers": letter.headers, "original": letter.record.original},
            indent=2,
        )
    )


@dlq_app.command("redrive")
def dlq_redrive(
    dead_letter_id: Annotated[str | None, typer.Option("--id", help="The dead letter.")] = None,
    redrive_all: Annotated[
        bool, typer.Option("--all", help="Every dead letter not redriven yet (of --service).")
    ] = False,
    service: ServiceOption = None,
) -> None:
    """Republish dead letters to the topics they came from, each at most once."""
    from roleplay_common.ops.dead_letters import AlreadyRedriven, DeadLetterNotFound, redrive
    from roleplay_common.settings import KafkaSettings

    if (dead_letter_id is None) == (not redrive_all):
        raise typer.BadParameter("give --id ID or --all")
    listed: dict[str, DeadLetter] = {}
    if dead_letter_id is not None:
        ids = [dead_letter_id]
    else:
        listed = {d.id: d for d in _letters(service) if not d.redriven}
        ids = list(listed)
    by = f"cli:{getpass.getuser()}"
    failed = 0
    with _progress("redriving") as advance:
        for n, one in enumerate(ids, 1):
            try:
                letter = asyncio.run(redrive(KafkaSettings(), one, by=by, letter=listed.get(one)))
            except DeadLetterNotFound:
                console.print(f"{one}: no such dead letter")
                failed += 1
            except AlreadyRedriven:
                console.print(f"{one}: already redriven")
                failed += 1
            else:
                console.print(f"{one}: redriven to {letter.record.source_topic}")
            advance(n, len(ids))
    typer.echo(f"{len(ids) - failed} redriven, {failed} not")
    if failed and dead_letter_id is not None:
        raise typer.Exit(1)


def replay_command(
    topic: Annotated[str, typer.Argument(help="Topic without the prefix, e.g. chat.turns.")],
    start: Annotated[
        str, typer.Option("--from", help="Offset (in every partition) or ISO 8601 time.")
    ],
    end: Annotated[
        str | None, typer.Option("--to", help="Offset (exclusive) or time; default: now.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="Only this consumer group handles them, e.g. gateway.feed (default: all).",
        ),
    ] = None,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type (repeatable).")
    ] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Only this conversation's events.")
    ] = None,
) -> None:
    """Feed a topic's past events again to a consumer group (handlers dedupe by event id)."""
    from roleplay_common.ops.replay import EventFilter, consumer_groups, parse_position, replay
    from roleplay_common.settings import KafkaSettings

    try:
        begin, until = parse_position(start), parse_position(end)
    except ValueError as exc:
        raise typer.BadParameter(f"--from/--to: an offset or an ISO 8601 time ({exc})") from exc
    only = EventFilter(types=frozenset(types or ()), conversation=conversation)
    if group is not None and group not in (known := asyncio.run(consumer_groups(KafkaSettings()))):
        raise typer.BadParameter(
            f"no consumer group {group!r}; known: {', '.join(sorted(known)) or 'none'}"
        )
    with _progress(f"replaying {topic}") as advance:
        result = asyncio.run(
            replay(
                KafkaSettings(),
                topic,
                start=begin,
                end=until,
                group=group,
                only=only,
                progress=advance,
            )
        )
    typer.echo(f"read {result.read}, replayed {result.replayed}")


@events_app.command("tail")
def events_tail(
    topics: Annotated[
        list[str] | None, typer.Argument(help="Topics without the prefix (default: all).")
    ] = None,
    types: Annotated[list[str] | None, typer.Option("--type")] = None,
    conversation: Annotated[str | None, typer.Option("--conversation")] = None,
    as_json: AsJson = False,
) -> None:
    """Print events as they are published (Ctrl-C stops)."""
    from roleplay_common.ops.event_log import tail
    from roleplay_common.ops.replay import EventFilter
    from roleplay_common.settings import KafkaSettings

    only = EventFilter(types=frozenset(types or ()), conversation=conversation)

    async def follow() -> None:
        async for located in tail(KafkaSettings(), topics, only=only):
            typer.echo(located.envelope.model_dump_json() if as_json else located.line())

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(follow())


@events_app.command("show")
def events_show(event_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """One event (its envelope), what caused it, and what it caused."""
    from roleplay_common.ops.event_log import find_with_chain
    from roleplay_common.settings import KafkaSettings

    with Progress(console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(topic: str, done: int, total: int) -> None:
            if topic not in tasks:
                tasks[topic] = progress.add_task(topic, total=total)
            progress.update(tasks[topic], completed=done)

        chain = asyncio.run(find_with_chain(KafkaSettings(), event_id, progress=advance))
    if chain is None:
        typer.echo(f"no event {event_id} on any topic", err=True)
        raise typer.Exit(1)
    typer.echo(chain.event.envelope.model_dump_json(indent=2))
    typer.echo("\ncaused by:" if chain.causes else "\ncaused by: (nothing: a first event)")
    for cause in chain.causes:
        typer.echo(f"  {cause.line()}")
    typer.echo("\ncaused:" if chain.effects else "\ncaused: (nothing)")
    for effect in chain.effects:
        typer.echo(f"  {effect.line()}")
