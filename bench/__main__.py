"""`python -m bench [first_delta|usage_ingest]` — run against a system started by `make up`."""

from __future__ import annotations

import importlib
import sys

BENCHES = [
    "first_delta",
    "stream_load",
    "usage_ingest",
    "keep_copy",
    "lorebook_activation",
    "tracing_overhead",
]


def main() -> None:
    names = [a for a in sys.argv[1:2] if not a.startswith("-")] or BENCHES
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        module.main()


if __name__ == "__main__":
    main()
