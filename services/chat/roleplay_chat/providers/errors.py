"""What can go wrong calling a provider, classified for retry and fallback decisions."""

from __future__ import annotations


class ProviderError(Exception):
    """A failed provider call. `retryable`: the same model may succeed if tried again."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


def from_status(status: int, body: str, retry_after: str | None) -> ProviderError:
    after: float | None = None
    if retry_after:
        try:
            after = float(retry_after)
        except ValueError:
            after = None
    if status == 429:
        return ProviderError(
            "provider_rate_limited",
            "the provider is rate limiting",
            retryable=True,
            status=status,
            retry_after=after,
        )
    if status >= 500:
        return ProviderError(
            "provider_unavailable",
            f"the provider answered {status}",
            retryable=True,
            status=status,
            retry_after=after,
        )
    if status in (401, 403):
        return ProviderError(
            "provider_auth_failed",
            "the provider refused our credentials",
            retryable=False,
            status=status,
        )
    return ProviderError(
        "provider_rejected",
        f"the provider rejected the request ({status}): {body[:300]}",
        retryable=False,
        status=status,
    )
