"""`roleplay`: the project's command line.

roleplay up                      the whole system on loopback (Ctrl-C stops it)
roleplay infra up|down|status|logs [server]
roleplay migrate                 apply every service's migrations
roleplay ping                    prove every service consumes and publishes through Kafka
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from typing import Annotated

import typer

from roleplay_local import infra, system
from roleplay_local.paths import data_dir, log_dir
from roleplay_usage import cli as usage_cli

app = typer.Typer(help="Run and operate the roleplay system.", no_args_is_help=True)
infra_app = typer.Typer(help="Kafka, PostgreSQL and MinIO on loopback.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(usage_cli.app, name="usage")


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
        typer.echo(f"{key}={value}")


@infra_app.command("down")
def infra_down() -> None:
    """Stop exactly what `infra up` started."""
    stopped = infra.down()
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@infra_app.command("status")
def infra_status() -> None:
    typer.echo(json.dumps(infra.status(), indent=2))


@infra_app.command("logs")
def infra_logs(
    server: Annotated[str, typer.Argument(help="kafka, postgres or minio")] = "kafka",
    lines: int = 50,
) -> None:
    """Show the last lines of a server's log."""
    paths = {
        "kafka": log_dir() / "kafka.log",
        "minio": log_dir() / "minio.log",
        "postgres": data_dir() / "postgres" / "postgres.log",
    }
    if server not in paths:
        raise typer.BadParameter("one of: kafka, postgres, minio")
    subprocess.run(["tail", "-n", str(lines), str(paths[server])], check=False)


@app.command("up")
def up(
    standin: Annotated[
        bool, typer.Option(help="Run the provider stand-in (off: real providers only).")
    ] = True,
) -> None:
    """Run the whole system: infrastructure, the stand-in and the five services."""
    infra_env = {} if _given_endpoints() is not None else infra.up().as_env()
    env = system.system_env(dict(os.environ), infra_env)
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
