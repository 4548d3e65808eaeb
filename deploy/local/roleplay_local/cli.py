"""`roleplay`: the project's command line.

roleplay up                      the whole system on loopback (Ctrl-C stops it)
roleplay infra up|down|status|check|logs [server]
roleplay migrate                 apply every service's migrations
roleplay ping                    prove every service consumes and publishes through Kafka
roleplay dlq list|show|redrive   dead letters (see `ops_cli.py`)
roleplay replay TOPIC --from …   feed past events again to a consumer group
roleplay events tail|show ID     follow the event log, or one event with its causation chain
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import time
from typing import Annotated

import typer

from roleplay_local import infra, ops_cli, system
from roleplay_local.paths import cache_dir, data_dir, log_dir

app = typer.Typer(help="Run and operate the roleplay system.", no_args_is_help=True)
infra_app = typer.Typer(help="Kafka, PostgreSQL and MinIO on loopback.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(ops_cli.dlq_app, name="dlq")
app.add_typer(ops_cli.events_app, name="events")
app.command("replay")(ops_cli.replay_command)


@app.command(
    "usage",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def usage(ctx: typer.Context) -> None:
    """Usage accounting: `roleplay usage backfill --from … --to …` (see `roleplay usage --help`)."""
    # Imported on use: the usage service's modules take seconds to import, `infra` should not.
    from roleplay_usage import cli as usage_cli

    wrapper = typer.Typer()
    wrapper.add_typer(usage_cli.app, name="usage")
    wrapper(args=["usage", *ctx.args], prog_name="roleplay")


def _given_endpoints() -> dict[str, str] | None:
    keys = ("ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS", "ROLEPLAY_DATABASE_URL", "ROLEPLAY_S3_ENDPOINT")
    if all(os.environ.get(k) for k in keys):
        return {}
    return None


@infra_app.command("up")
def infra_up() -> None:
    """Install (cached) and start Kafka, PostgreSQL and MinIO; print their endpoints."""
    started = time.monotonic()
    endpoints = infra.up()
    typer.echo(f"infrastructure ready in {time.monotonic() - started:.1f}s")
    for key, value in endpoints.as_env().items():
        typer.echo(f"{key}={value}" if key in _PRINTABLE else f"{key}=(in {_CREDENTIALS})")


_PRINTABLE = {
    "ROLEPLAY_KAFKA_BOOTSTRAP_SERVERS",
    "ROLEPLAY_S3_ENDPOINT",
    "ROLEPLAY_S3_ACCESS_KEY",
    "ROLEPLAY_S3_SECURE",
}
_CREDENTIALS = "the data folder's infra-credentials.json"


@infra_app.command("down")
def infra_down() -> None:
    """Stop exactly what `infra up` started."""
    stopped = infra.down()
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@infra_app.command("status")
def infra_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Which servers are installed, answering, on which port, with which pid."""
    status = infra.status()
    if as_json:
        typer.echo(json.dumps(status, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("server", "installed", "ready", "port", "pid")
    table.add_column("log", overflow="fold")
    for name, row in status.items():
        table.add_row(name, *(str(row[k]) for k in ("installed", "ready", "port", "pid", "log")))
    Console().print(table)
    typer.echo(f"data: {data_dir()}  cache: {cache_dir()}")


@infra_app.command("check")
def infra_check() -> None:
    """One round trip through each server: a Kafka message, a `select 1`, an S3 object."""
    from roleplay_local.smoke import check_all

    endpoints = infra.given_endpoints() or infra.endpoints()
    for name, seconds in check_all(endpoints).items():
        typer.echo(f"{name}: ok ({seconds:.2f}s)")


@infra_app.command("logs")
def infra_logs(
    server: Annotated[str, typer.Argument(help="kafka, postgres or minio")] = "kafka",
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
) -> None:
    """Show the last lines of a server's log (with -f: and what follows)."""
    if server not in infra.SERVERS:
        raise typer.BadParameter(f"one of: {', '.join(infra.SERVERS)}")
    path = infra.SERVERS[server].log_file()
    if not path.exists():
        typer.echo(f"no log yet: {path}", err=True)
        raise typer.Exit(1)
    command = ["tail", "-n", str(lines), *(["-F"] if follow else []), str(path)]
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, check=False)


@app.command("up")
def up(
    standin: Annotated[
        bool, typer.Option(help="Run the provider stand-in (off: real providers only).")
    ] = True,
) -> None:
    """Run the whole system: infrastructure, the stand-in and the five services."""
    from roleplay_local.local_secrets import announcement, local_secrets, secrets_file

    infra_env = {} if _given_endpoints() is not None else infra.up().as_env()
    generated, created = local_secrets()
    env = system.system_env(dict(os.environ), {**infra_env, **generated})
    typer.echo(announcement(generated, created, secrets_file(), dict(os.environ)))
    code = asyncio.run(system.run_system(env, standin=standin, log_dir=log_dir() / "services"))
    raise typer.Exit(code)


@app.command("migrate")
def migrate() -> None:
    """Apply every service's migrations (services also do it on start)."""
    url = os.environ.get("ROLEPLAY_DATABASE_URL") or infra.up().database_url
    for name in system.migrate_all(url):
        typer.echo(f"{name}: up to date")


@app.command("ping")
def ping(timeout: float = 30.0) -> None:
    """Send `system.ping` and wait for every service's `system.pong`."""
    from roleplay_local.diagnostics import ping_services

    answered = asyncio.run(ping_services(timeout=timeout))
    for service, millis in sorted(answered.items()):
        typer.echo(f"{service}: {millis:.0f} ms")
    missing = {"gateway", "chat", "scenes", "library", "usage"} - set(answered)
    if missing:
        typer.echo(f"no answer from: {', '.join(sorted(missing))}", err=True)
        raise typer.Exit(1)


def main() -> None:
    app(prog_name="roleplay")


if __name__ == "__main__":
    main()
