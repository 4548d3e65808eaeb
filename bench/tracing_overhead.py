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
import cProfile
import pstats
import time
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from roleplay_common.events import EventEnvelope, Ping
from roleplay_common.trace_context import consumer_span
from roleplay_common.tracing import sampler, trace_http_server, traced_by

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    """The best of five runs: on a shared machine the minimum is the least disturbed."""
    for _ in range(min(rounds, 200)):
        fn()
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds // 5):
            fn()
        samples.append((time.perf_counter() - started) / (rounds // 5) * 1e6)
    return min(samples)


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


async def per_request_us(apps: dict[str, FastAPI], path: str, rounds: int) -> dict[str, float]:
    """Each app in turn, five times over (interleaved, so load drifts hit both alike); the
    best run of each."""
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://bench")
        for name, a in apps.items()
    }
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for client in clients.values():
        for _ in range(min(rounds, 100)):
            await client.get(path)
    for _ in range(5):
        for name, client in clients.items():
            started = time.perf_counter()
            for _ in range(rounds // 5):
                (await client.get(path)).raise_for_status()
            samples[name].append((time.perf_counter() - started) / (rounds // 5) * 1e6)
    for client in clients.values():
        await client.aclose()
    return {name: min(runs) for name, runs in samples.items()}


async def http_costs(rounds: int) -> dict[str, float]:
    small = await per_request_us(
        {"small route, not instrumented": app(False), "small route, instrumented": app(True)},
        "/small",
        rounds,
    )
    stream = await per_request_us(
        {
            "300-event SSE, not instrumented": app(False),
            "300-event SSE, instrumented": app(True),
        },
        "/stream",
        rounds // 10,
    )
    return {**small, **stream}


def calls_per_call(fn: Callable[[], object], rounds: int = 200) -> float:
    """Python function calls per call: unlike time, not disturbed by a busy machine."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(rounds):
        fn()
    profile.disable()
    return pstats.Stats(profile).total_calls / rounds  # type: ignore[attr-defined,no-any-return]


async def calls_per_request(application: FastAPI, path: str, rounds: int = 100) -> float:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await client.get(path)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(rounds):
            await client.get(path)
        profile.disable()
    return pstats.Stats(profile).total_calls / rounds  # type: ignore[attr-defined,no-any-return]


async def http_calls() -> dict[str, float]:
    return {
        "small route, not instrumented": await calls_per_request(app(False), "/small"),
        "small route, instrumented": await calls_per_request(app(True), "/small"),
        "300-event SSE, not instrumented": await calls_per_request(app(False), "/stream"),
        "300-event SSE, instrumented": await calls_per_request(app(True), "/stream"),
    }


def measure(rounds: int) -> dict[str, tuple[float, float]]:
    """Per case: microseconds and Python function calls, per call."""
    results = {
        "EventEnvelope.wrap": (per_call_us(wrap, rounds * 10), calls_per_call(wrap)),
        "consumer span": (per_call_us(consume, rounds * 10), calls_per_call(consume)),
    }
    times = asyncio.run(http_costs(rounds))
    calls = asyncio.run(http_calls())
    for name, cost in times.items():
        results[name] = (cost, calls[name])
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
    print(f"{'per call':<34}{'off: µs':>10}{'calls':>8}{'on: µs':>10}{'calls':>8}")
    for name, (off_us, off_calls) in off.items():
        on_us, on_calls = on[name]
        print(f"{name:<34}{off_us:>10.1f}{off_calls:>8.0f}{on_us:>10.1f}{on_calls:>8.0f}")


if __name__ == "__main__":
    main()
