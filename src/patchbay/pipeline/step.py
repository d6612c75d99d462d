"""The shape every pipeline step has, and what it may use while it runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from patchbay.pipeline.state import RunState

if TYPE_CHECKING:
    from patchbay.connectors.base import Target
    from patchbay.observability.pricing import PricingConfig
    from patchbay.providers.base import Provider


@dataclass(frozen=True)
class Resources:
    """Built components a step may use: providers and targets by their configured names."""

    providers: Mapping[str, Provider] = field(default_factory=dict)
    targets: Mapping[str, Target] = field(default_factory=dict)
    environment: str = "dev"
    pricing: PricingConfig | None = None


@runtime_checkable
class Step(Protocol):
    """A step reads the run state and returns a copy with its own slot filled in.

    Steps raise :class:`patchbay.errors.PatchbayError` subclasses; whether the runner retries is
    decided by the ``Retryable``/``Permanent`` marker, never by the step.
    """

    name: str

    async def run(self, state: RunState, resources: Resources) -> RunState: ...
