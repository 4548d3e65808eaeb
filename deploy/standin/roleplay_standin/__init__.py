"""A STAND-IN for paid model providers, for offline use and tests.

It speaks their real protocols — OpenAI-compatible chat completions with SSE streaming, and
the fal.ai queue API for images — with knobs for latency, token rate, output length and
injected failures (HTTP 429/500/503, stalls, cut-off streams). It is not a model: replies are
deterministic text made from the request.
"""
