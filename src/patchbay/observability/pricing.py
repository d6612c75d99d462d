"""Token prices per model, for the cost of each run (``pricing:`` in the project file).

Providers that report a cost (the Prompt Execution API's ``metadata.cost_usd``) keep theirs; for the
others the cost is computed from this table: the defaults below, overridden or extended by config.
Model ids match exactly or by the longest known prefix (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input_per_1m: float = Field(ge=0, description="USD per 1M input (prompt) tokens.")
    output_per_1m: float = Field(ge=0, description="USD per 1M output (completion) tokens.")


# List prices as published by the vendors in 2025-2026; check yours and override in config.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(input_per_1m=i, output_per_1m=o)
    for name, (i, o) in {
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4o": (2.50, 10.00),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1": (2.00, 8.00),
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-haiku-4-5": (1.00, 5.00),
        "claude-sonnet-4": (3.00, 15.00),
        "qwen2.5-coder-1.5b": (0.0, 0.0),
        "smollm2-135m": (0.0, 0.0),
    }.items()
}


class PricingConfig(BaseModel):
    """Token prices by model id; merged over the built-in defaults."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelPrice] = Field(
        default_factory=dict, description="Prices by model id, e.g. {gpt-4o-mini: {input_per_1m: 0.15, ...}}."
    )
    use_defaults: bool = Field(default=True, description="Also use the built-in list of common models.")

    def price_of(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (exact id, else the longest matching prefix), or None."""
        table = {**(DEFAULT_PRICES if self.use_defaults else {}), **self.models}
        if model in table:
            return table[model]
        prefixes = [name for name in table if model.startswith(name)]
        return table[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float | None:
        """USD for one call, or None when the model's price is unknown."""
        price = self.price_of(model)
        if price is None:
            return None
        return round((tokens_in * price.input_per_1m + tokens_out * price.output_per_1m) / 1_000_000, 8)
