"""A STAND-IN for paid model providers, for offline use and tests. Not a real provider.

One local HTTP server that speaks their real protocols — OpenAI-compatible chat completions
(with SSE streaming) and images, the fal.ai queue API with webhooks, and Replicate
predictions — with knobs for latency, token rate, reply length, image job duration and
injected failures (HTTP 429/500/503, stalls, cut-off streams, jobs that end in error),
scoped per model or route family. Replies are deterministic text made from the request;
images are real PNGs generated from the prompt. Every answer carries `x-standin: true`.
"""
