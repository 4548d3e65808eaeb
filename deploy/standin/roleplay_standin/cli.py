"""`roleplay-standin` / `python -m roleplay_standin`: run the provider STAND-IN.

Every knob is a flag, and also an environment variable `STANDIN_<KNOB>` (a flag wins over
the variable, the variable over the default); `--fail` adds an injected failure (JSON,
repeatable). What is set here is also what `POST /_standin/reset` returns to.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import uvicorn

from roleplay_standin.app import create_app
from roleplay_standin.knobs import Config, Failure, config_from_env

_KNOB_FLAGS: list[tuple[str, type, str]] = [
    ("first_token_ms", int, "wait before the first chunk of a chat reply (ms)"),
    ("tokens_per_second", float, "chat token rate; 0 = as fast as possible"),
    ("output_tokens", int, "chat reply length in tokens (max_tokens can shorten it)"),
    ("image_job_ms", int, "how long an image job takes (ms)"),
    ("image_size", int, "default image side (px)"),
    ("image_pad_bytes", int, "pad every PNG to this many bytes (benchmarks)"),
    ("webhook_attempts", int, "delivery attempts per webhook"),
    ("seed", int, "seed of the draws for `fraction` failures"),
]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="roleplay-standin",
        description="Provider STAND-IN (not a real provider): OpenAI-compatible chat and "
        "images, fal.ai queue and Replicate protocols for offline use and tests.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18080)
    p.add_argument(
        "--public-url",
        default=None,
        help="base of the URLs handed out (default: the address each request came to)",
    )
    p.add_argument("--log-level", default="warning")
    p.add_argument("--require-key", default=None, help="accept only this API key")
    for name, kind, text in _KNOB_FLAGS:
        flags = [f"--{name.replace('_', '-')}"]
        if name == "image_pad_bytes":
            flags.append("--image-bytes")
        p.add_argument(*flags, dest=name, type=kind, default=None, help=text)
    p.add_argument(
        "--no-webhooks",
        dest="webhooks",
        action="store_false",
        default=None,
        help="never deliver webhooks (clients must poll)",
    )
    p.add_argument(
        "--sse-comments",
        dest="sse_comments",
        action="store_true",
        default=None,
        help="send `: STANDIN PROCESSING` comments while a stream waits",
    )
    p.add_argument("--models", default=None, help="comma-separated names listed by GET /v1/models")
    p.add_argument(
        "--fail",
        dest="failures",
        action="append",
        default=None,
        metavar="JSON",
        help='inject a failure, e.g. \'{"family":"chat","model":"a","status":500,"count":-1}\'',
    )
    return p


def startup_config(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Config:
    """Defaults, overridden by `STANDIN_*` variables, overridden by flags."""
    values: dict[str, Any] = config_from_env(environ).model_dump()
    for name in [*(n for n, _, _ in _KNOB_FLAGS), "webhooks", "sse_comments", "require_key"]:
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.models is not None:
        values["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.failures:
        values["failures"] = [
            *values["failures"],
            *(Failure.model_validate(json.loads(f)).model_dump() for f in args.failures),
        ]
    return Config.model_validate(values)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    config = startup_config(args)
    app = create_app(args.public_url, config=config)
    print(
        f"Provider STAND-IN (not a real provider) on http://{args.host}:{args.port}",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
