"""`python -m roleplay_standin --host 127.0.0.1 --port 18080`: run the provider STAND-IN."""

from __future__ import annotations

import argparse

import uvicorn

from roleplay_standin.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Provider STAND-IN (not a real provider).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--public-url", default=None, help="Base URL in returned file links.")
    args = parser.parse_args()
    public = (
        args.public_url
        or f"http://{'127.0.0.1' if args.host == '0.0.0.0' else args.host}:{args.port}"
    )
    uvicorn.run(create_app(public), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
