"""A failed image or narrative call, classified for retry and fallback."""

from __future__ import annotations


class ImageProviderError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status


def from_status(status: int, what: str) -> ImageProviderError:
    if status == 429:
        return ImageProviderError(
            "provider_rate_limited", f"{what}: rate limited", retryable=True, status=status
        )
    if status >= 500:
        return ImageProviderError(
            "provider_unavailable", f"{what}: HTTP {status}", retryable=True, status=status
        )
    return ImageProviderError(
        "provider_rejected", f"{what}: HTTP {status}", retryable=False, status=status
    )
