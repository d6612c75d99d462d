"""Cost per run from the price table."""

from __future__ import annotations

import pytest

from patchbay.observability.pricing import ModelPrice, PricingConfig


def test_known_models_and_prefixes() -> None:
    pricing = PricingConfig()
    assert pricing.cost("gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert pricing.cost("gpt-4o-mini-2024-07-18", 1000, 1000) == pytest.approx((150 + 600) / 1e6)
    assert pricing.cost("gpt-4o-2024-08-06", 0, 1_000_000) == pytest.approx(10.0)  # longest prefix wins
    assert pricing.cost("qwen2.5-coder-1.5b", 500, 500) == 0
    assert pricing.cost("something-new", 10, 10) is None


def test_config_overrides_and_extends() -> None:
    pricing = PricingConfig(
        models={
            "gpt-4o-mini": ModelPrice(input_per_1m=1, output_per_1m=2),
            "in-house-7b": ModelPrice(input_per_1m=0.05, output_per_1m=0.05),
        }
    )
    assert pricing.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(3.0)
    assert pricing.cost("in-house-7b", 2_000_000, 0) == pytest.approx(0.1)
    assert PricingConfig(use_defaults=False).cost("gpt-4o-mini", 1, 1) is None
