"""Build the live components of a loaded project: providers, targets, sources and each integration's steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from patchbay import registry
from patchbay.config.loader import IntegrationSpec, LoadedProject
from patchbay.config.models import ComponentSpec
from patchbay.connectors.base import Source, Target
from patchbay.egress import EgressPolicy
from patchbay.http import HttpClientFactory
from patchbay.pipeline.step import Resources, Step
from patchbay.providers.base import Provider
from patchbay.resilience.breaker import CircuitBreaker
from patchbay.resilience.limits import SharedLimiter
from patchbay.resilience.wrap import protect_provider, protect_target
from patchbay.runs.store import RunStore


@dataclass
class Integration:
    """A built integration: its source and its ordered steps."""

    name: str
    spec: IntegrationSpec
    source: Source
    steps: list[Step]

    def accepts(self, event_type: str) -> bool:
        """Whether this integration runs for ``event_type`` (an empty list accepts every event)."""
        events = self.spec.config.trigger.events
        return not events or event_type in events


@dataclass
class Runtime:
    """Everything a process needs to run a project's integrations."""

    project: LoadedProject
    http: HttpClientFactory
    resources: Resources
    integrations: dict[str, Integration] = field(default_factory=dict)

    def integration(self, name: str) -> Integration:
        """The integration called ``name``; ``KeyError`` names the known ones."""
        try:
            return self.integrations[name]
        except KeyError:
            known = ", ".join(sorted(self.integrations)) or "none configured"
            raise KeyError(f"no integration named {name!r} (known: {known})") from None

    async def aclose(self) -> None:
        """Close providers, targets and HTTP clients that belong to the running loop."""
        for provider in self.resources.providers.values():
            await provider.aclose()
        for target in self.resources.targets.values():
            await target.aclose()
        await self.http.aclose()


def _ctx(project: LoadedProject, name: str, http: HttpClientFactory) -> registry.BuildContext:
    return registry.BuildContext(
        name=name,
        http=http,
        root=project.root,
        data_dir=project.data_dir,
        environment=project.environment,
        extra={"held_secrets": held_secrets(project)},
    )


def held_secrets(project: LoadedProject) -> frozenset[str]:
    """The values of every ${secret:...} the project resolved: output is masked against them."""
    found: set[str] = set()
    for path in project.secret_paths:
        value: Any = project.raw
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            found.add(value)
    return frozenset(found)


class _Protection:
    """Creates each component's breaker and (lazily, one database engine) its shared limiter."""

    def __init__(self, project: LoadedProject) -> None:
        self._project = project
        self._engine: Engine | None = None

    def breaker(self, kind: str, name: str, spec: ComponentSpec) -> CircuitBreaker | None:
        return CircuitBreaker(name, kind, spec.breaker) if spec.breaker.enabled else None

    def limiter(self, kind: str, name: str, spec: ComponentSpec) -> SharedLimiter | None:
        if spec.limits is None:
            return None
        if self._engine is None:
            from patchbay.runs.databases import resolve

            storage = self._project.config.storage
            self._engine = RunStore(resolve(self._project).runs_url, pool_size=storage.pool_size).engine
        return SharedLimiter(self._engine, f"{kind}:{name}", spec.limits, kind=kind, name=name)


def build_runtime(project: LoadedProject, *, http: HttpClientFactory | None = None) -> Runtime:
    """Construct every component. Cheap: heavy resources (model weights) load on first use.

    Each provider and target is wrapped in its circuit breaker and shared limits (``breaker:`` and
    ``limits:`` beside its ``type:``).
    """
    http = http or HttpClientFactory(
        egress=EgressPolicy.for_environment(project.environment, project.config.egress)
    )
    protection = _Protection(project)
    providers: dict[str, Provider] = {}
    for name, (type_name, config) in project.providers.items():
        provider_spec = project.config.providers[name]
        built = registry.load("provider", type_name).build(config, _ctx(project, name, http))
        providers[name] = protect_provider(
            built,
            protection.breaker("provider", name, provider_spec),
            protection.limiter("provider", name, provider_spec),
        )
    targets: dict[str, Target] = {}
    for name, (type_name, config) in project.targets.items():
        target_spec = project.config.targets[name]
        built_target = registry.load("target", type_name).build(config, _ctx(project, name, http))
        targets[name] = protect_target(
            built_target,
            protection.breaker("target", name, target_spec),
            protection.limiter("target", name, target_spec),
        )
    resources = Resources(
        providers=providers, targets=targets, environment=project.environment, pricing=project.config.pricing
    )
    runtime = Runtime(project=project, http=http, resources=resources)
    for name, spec in project.integrations.items():
        source: Any = registry.load("source", spec.config.trigger.source).build(
            spec.source_config, _ctx(project, name, http)
        )
        steps: list[Step] = [
            registry.load("step", step.name).build(step.config, _ctx(project, f"{name}.{step.name}", http))
            for step in spec.steps
        ]
        runtime.integrations[name] = Integration(name=name, spec=spec, source=source, steps=steps)
    return runtime
