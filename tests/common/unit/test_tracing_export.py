"""Tracing is off by default and, turned on by the environment, exports over OTLP/HTTP to
the endpoint `OTEL_EXPORTER_OTLP_ENDPOINT` names. Each case runs in a process of its own:
the exporting provider is installed once per process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

SERVICE = """
from roleplay_common.settings import TracingSettings
from roleplay_common.tracing import configure_tracing, flush_tracing, tracer, tracer_provider

configure_tracing("chat", TracingSettings())
print(type(tracer_provider().target).__name__)
with tracer("roleplay.chat").start_as_current_span("chat.turn.run"):
    pass
flush_tracing()
"""


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A stand-in OTLP/HTTP collector on loopback that keeps what it is sent."""
    received: list[tuple[str, bytes]] = []

    class Collect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append((self.path, self.rfile.read(length)))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


def run_service(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ROLEPLAY_OTEL"))}
    done = subprocess.run(
        [sys.executable, "-c", SERVICE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_tracing_is_off_unless_the_environment_turns_it_on(
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, received = collector
    assert run_service({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}) == "NoOpTracerProvider"
    assert received == []


def test_turned_on_spans_go_to_the_configured_otlp_endpoint(
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, received = collector
    provider = run_service(
        {"ROLEPLAY_OTEL_ENABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    )
    assert provider == "TracerProvider"
    assert [path for path, _ in received] == ["/v1/traces"]
    body = received[0][1]
    assert b"chat.turn.run" in body and b"service.name" in body and b"chat" in body
