"""Token counts per model family: exact for OpenAI's encodings, calibrated otherwise."""

from __future__ import annotations

from roleplay_chat.domain.tokens import Calibration, count_tokens, counter_for, family_of

TEXT = "Hello, Seraphina! The lighthouse burned in 1812."


def test_openai_families_count_exactly_offline() -> None:
    assert counter_for("gpt-4o-mini")(TEXT) == 14
    assert counter_for("openai/gpt-4o")(TEXT) == 14
    assert counter_for("gpt-4-turbo")(TEXT) == 15
    assert counter_for("gpt-4o")("") == 0


def test_other_families_are_estimated_then_calibrated_from_reported_usage() -> None:
    calibration = Calibration(weight=0.5)
    model = "meta-llama/llama-3.1-8b-instruct"
    assert counter_for(model, calibration)(TEXT) == count_tokens(TEXT)
    for _ in range(10):
        estimate = counter_for(model, calibration)(TEXT * 20)
        calibration.observe(model, estimate, reported=int(count_tokens(TEXT * 20) * 0.7))
    assert 0.68 < calibration.factor(model) < 0.72
    assert calibration.factor("meta-llama/llama-3.3-70b") == calibration.factor(model)
    assert calibration.factor("mistralai/mistral-large") == 1.0
    calibration.observe("other", 100, reported=10_000)
    assert calibration.factor("other") <= 2.0
    assert family_of("meta-llama/llama-3.1-8b") == "meta-llama/llama"
