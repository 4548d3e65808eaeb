"""What tracing costs, in one process, with tracing off (the default) and on.

Per delta nothing is added: deltas get no span (`ReplyStream` is untouched; a delta record
carries the turn's `traceparent` string, fixed once per turn). What is added per event, per
HTTP request and per SSE response is measured here: the trace context read when an envelope
is made, a consumer span, and the FastAPI instrumentation on a small route and on a 300-event
streamed response (the in-process ASGI transport, so the cost is not drowned in network time).

    python -m bench tracing_overhead [--rounds 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from roleplay_common.events import EventEnvelope, Ping
from roleplay_common.tracing import (
    consumer_span,
    sampler,
    trace_http_server,
    traced_by,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    for _ in range(min(rounds, 200)):
        fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - started) / rounds * 1e6


def wrap() -> object:
    return EventEnvelope.wrap(Ping(probe_id="p"), producer="bench")


def consume() -> object:
    with consumer_span("bench process system.ping", traceparent=TRACEPARENT) as span:
        return span


def app(traced: bool) -> FastAPI:
    application = FastAPI()

    @application.get("/small")
    async def small() -> dict[str, str]:
        return {"status": "ok"}

    @application.get("/stream")
    async def stream() -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            for seq in range(300):
                yield f"id: {seq}\nevent: delta\ndata: {{}}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    if traced:
        trace_http_server(application)
    return application


async def per_request_us(application: FastAPI, path: str, rounds: int) -> float:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(min(rounds, 100)):
            await client.get(path)
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(rounds // 5):
                (await client.get(path)).raise_for_status()
            samples.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
    return statistics.median(samples)


async def http_costs(rounds: int) -> dict[str, float]:
    return {
        "small route, not instrumented": await per_request_us(app(False), "/small", rounds),
        "small route, instrumented": await per_request_us(app(True), "/small", rounds),
        "300-event SSE, not instrumented": await per_request_us(
            app(False), "/stream", rounds // 10
        ),
        "300-event SSE, instrumented": await per_request_us(app(True), "/stream", rounds // 10),
    }


def measure(rounds: int) -> dict[str, float]:
    results = {
        "EventEnvelope.wrap": per_call_us(wrap, rounds * 10),
        "consumer span": per_call_us(consume, rounds * 10),
    }
    for name, cost in asyncio.run(http_costs(rounds)).items():
        results[name] = cost
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    args, _ = parser.parse_known_args()
    off = measure(args.rounds)
    provider = TracerProvider(sampler=sampler())
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    with traced_by(provider):
        on = measure(args.rounds)
    provider.shutdown()
    print(f"{'µs per call':<34}{'tracing off':>12}{'tracing on':>12}")
    for name in off:
        print(f"{name:<34}{off[name]:>12.1f}{on[name]:>12.1f}")


if __name__ == "__main__":
    main()
