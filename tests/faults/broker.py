"""A Kafka broker of a fault test's own, run by the local toolkit (`roleplay_local.kafka`).

Same jars, same configuration and the same start and stop as `roleplay infra up|down`, but
with a data directory and ports of its own: restarting it cuts only the test's services,
never the broker the rest of the session (or another engineer's tests) relies on.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.servers import free_port


def toolkit_kafka_missing() -> str | None:
    """Why a local-toolkit broker cannot be run here, or None when it can."""
    from roleplay_local import kafka

    if shutil.which("java") is None:
        return "no Java: the local toolkit's Kafka is not in use"
    if not kafka.installed():
        return "the local toolkit's Kafka jars are not installed (roleplay infra up fetches them)"
    return None


def _port_pair() -> int:
    """A free port whose next port is free too (the broker's controller listener)."""
    while True:
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


class ToolkitBroker:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _port_pair()
        self._env = {
            **os.environ,
            "ROLEPLAY_DATA_DIR": str(home),
            "ROLEPLAY_LOCAL_KAFKA_PORT": str(self.port),
        }

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _toolkit(self, call: str) -> None:
        subprocess.run(
            [sys.executable, "-c", f"from roleplay_local import kafka; {call}"],
            env=self._env,
            check=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start (formatting its storage the first time) and wait until it answers."""
        self._toolkit("kafka.start(); kafka.wait_ready(90)")

    def stop(self) -> None:
        """As `roleplay infra down` stops it: SIGTERM, a controlled shutdown."""
        self._toolkit("kafka.stop()")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return (self.home / "logs" / "kafka.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""
