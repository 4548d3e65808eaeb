"""Limit state shared by every gateway instance, in PostgreSQL (tables in `identity`).

Request rates: the generic cell rate algorithm, a token bucket kept as one number per caller,
`tat` (the theoretical arrival time: when the caller's bucket would be full again, in epoch
seconds). A request at `now` is allowed while `tat <= now + tolerance`, where the tolerance
is `(burst - 1) * interval`; an allowed request moves `tat` to `max(tat, now) + interval`.
That is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` in autocommit, on a small pool
of its own (plain asyncpg, a prepared statement: about a third of a millisecond here, where
going through SQLAlchemy's pool took over one), so a request holds no session.

Failed logins: a fixed window per account and per client address. An attempt is counted
before the password is checked, so concurrent guesses cannot overtake the limit; a success
forgets the account's failures and takes back its own count from the address.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import asyncpg

from roleplay_common.http import ApiError
from roleplay_common.logging import get_logger

log = get_logger(__name__)

TIMEOUT_SECONDS = 1.0
# What a database that does not answer raises here.
UNAVAILABLE = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

# $2 = interval, $3 = tolerance; `excluded.tat` is `now + interval`.
_TAKE = """
    INSERT INTO identity.rate_limits AS r (key, tat, allowed)
    VALUES ($1, extract(epoch FROM now())::float8 + $2, true)
    ON CONFLICT (key) DO UPDATE SET
        tat = CASE WHEN r.tat + $2 <= excluded.tat + $3
                   THEN greatest(r.tat + $2, excluded.tat) ELSE r.tat END,
        allowed = r.tat + $2 <= excluded.tat + $3
    RETURNING allowed, tat - extract(epoch FROM now())::float8 AS ahead
"""

# $1 = account key, $2 = address key, $3 = window in seconds.
_COUNT_LOGIN = """
    INSERT INTO identity.login_attempts AS a (key, failures, window_ends)
    VALUES ($1, 1, now() + make_interval(secs => $3)), ($2, 1, now() + make_interval(secs => $3))
    ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN a.window_ends <= now() THEN 1 ELSE a.failures + 1 END,
        window_ends = CASE WHEN a.window_ends <= now()
                           THEN excluded.window_ends ELSE a.window_ends END
    RETURNING key, failures, extract(epoch FROM window_ends - now())::float8 AS remaining
"""

_FORGET_LOGIN = """
    WITH reset AS (DELETE FROM identity.login_attempts WHERE key = $1)
    UPDATE identity.login_attempts SET failures = greatest(failures - 1, 0) WHERE key = $2
"""

_PRUNE = (
    "DELETE FROM identity.rate_limits WHERE tat < extract(epoch FROM now())::float8",
    "DELETE FROM identity.login_attempts WHERE window_ends < now()",
)


@dataclass(frozen=True)
class Rate:
    """`per_minute` on average, up to `burst` at once."""

    per_minute: float
    burst: int

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


@dataclass(frozen=True)
class LoginLimits:
    per_account: int
    per_address: int
    window_seconds: float


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """The pool's connections run single statements and keep no session state (no listeners,
    locks or settings), so they go back to the pool without asyncpg's reset round trip."""


class SharedLimits:
    def __init__(self, database_url: str, login: LoginLimits, *, pool_size: int = 8) -> None:
        self.url = database_url.replace("+asyncpg", "")
        self.login = login
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.url, min_size=1, max_size=self.pool_size, reset=_nothing_to_reset
        )

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise asyncpg.InterfaceError("the limits pool is not started")
        return self._pool

    async def take(self, key: str, rate: Rate) -> float:
        """0 when the request is allowed, else the seconds until one would be."""
        async with self.pool.acquire(timeout=TIMEOUT_SECONDS) as conn:
            row = await conn.fetchrow(
                _TAKE, key, rate.interval, rate.tolerance, timeout=TIMEOUT_SECONDS
            )
        assert row is not None
        allowed, ahead = row
        return 0.0 if allowed else max(ahead - rate.tolerance, 0.001)

    async def count_login(self, email: str, address: str) -> float:
        """Counts an attempt as failed until `login_succeeded`; 0 when it may go ahead, else
        the seconds until the account's or the address's window ends."""
        account, at = _account_key(email), _address_key(address)
        allowed = {account: self.login.per_account, at: self.login.per_address}
        try:
            rows = await self.pool.fetch(_COUNT_LOGIN, account, at, self.login.window_seconds)
        except UNAVAILABLE as exc:
            raise _unavailable() from exc
        return max(
            (remaining for key, failures, remaining in rows if failures > allowed[key]),
            default=0.0,
        )

    async def login_succeeded(self, email: str, address: str) -> None:
        try:
            await self.pool.execute(_FORGET_LOGIN, _account_key(email), _address_key(address))
        except UNAVAILABLE as exc:
            raise _unavailable() from exc

    async def prune(self) -> None:
        """Drops rows that limit nobody any more (a full bucket, an ended window)."""
        for statement in _PRUNE:
            await self.pool.execute(statement)


def _unavailable() -> ApiError:
    return ApiError(
        503, "database_unavailable", "logins cannot be checked now", headers={"Retry-After": "5"}
    )


def _account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def _address_key(address: str) -> str:
    return f"address:{address}"


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


async def keep_pruning_limits(limits: SharedLimits, interval: float = 600) -> None:
    while True:
        try:
            await limits.prune()
        except Exception:
            log.exception("pruning the limit tables failed")
        await asyncio.sleep(interval)
