"""A test that hangs is cancelled inside its own event loop, with every task's stack printed.

pytest-timeout's signal interrupts the session's event loop from outside: the hung test's
coroutine, and every service it started, stay scheduled on that loop and wake up again
during the next tests, where they join consumer groups and take other tests' work. Bounding
the test inside the loop instead cancels it, so its `async with` blocks stop what they
started; the dump says where it hung.
"""

from __future__ import annotations

import asyncio
import functools
import io
import sys
from collections.abc import Awaitable, Callable
from typing import Any

IN_LOOP_SECONDS = 240.0
"""Below pytest-timeout's 300 s, which stays as the last resort for a blocked loop."""


class TestHungError(AssertionError):
    """The test ran past `IN_LOOP_SECONDS` and was cancelled."""


def dump_tasks() -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"--- task {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    return out.getvalue()


def bounded(test: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        timeout = asyncio.timeout(IN_LOOP_SECONDS)
        try:
            async with timeout:
                return await test(*args, **kwargs)
        except TimeoutError:
            if not timeout.expired():
                raise
            stacks = dump_tasks()
            print(stacks, file=sys.stderr)
            raise TestHungError(
                f"the test ran past {IN_LOOP_SECONDS:.0f} s and was cancelled; task stacks "
                "are in its captured stderr"
            ) from None

    return run
