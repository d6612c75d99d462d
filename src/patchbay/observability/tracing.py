"""OpenTelemetry traces: one trace per delivery, intake -> run -> steps -> model call -> write-back.

Off by default, and then nearly free: with no tracer provider installed, :func:`span` and
:func:`continued` do not even start the API's no-op spans (attaching and detaching their context
cost ~10 µs each, ten times per run). Configure
``observability.otlp_endpoint`` (OTLP over HTTP, e.g. http://otel-collector:4318/v1/traces) to export.
Intake puts the W3C ``traceparent`` into the run's inputs, so the run continues the delivery's trace
even when another process (a worker) executes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import Span, Status, StatusCode

from patchbay.errors import ConfigError

TRACER_NAME = "patchbay"
_configured = False


def configure_tracing(
    *, otlp_endpoint: str | None, service_name: str, environment: str, exporter: Any = None
) -> None:
    """Install a tracer provider exporting to ``otlp_endpoint`` (or to ``exporter``, for tests)."""
    global _configured
    if otlp_endpoint is None and exporter is None:
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise ConfigError(
            "observability.otlp_endpoint is set but the OpenTelemetry SDK is not installed; "
            "run: pip install 'patchbay[otel]'"
        ) from None

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "deployment.environment": environment})
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer() -> trace.Tracer:
    """The Patchbay tracer (a no-op one until tracing is configured)."""
    return trace.get_tracer(TRACER_NAME)


def recording() -> bool:
    """Whether a tracer provider is installed: ours (:func:`configure_tracing`), or one that an
    application embedding Patchbay set itself. Without one, spans would record nothing."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers, to hand to a run."""
    found: dict[str, str] = {}
    inject(found)
    return found


@contextmanager
def continued(carrier_: dict[str, str] | None) -> Iterator[None]:
    """Make ``carrier_``'s trace the current one (a run continuing its delivery's trace)."""
    if not carrier_ or not recording():
        yield
        return
    token = otel_context.attach(extract(carrier_))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span that records an exception as an error status, never the exception's text.

    Without a tracer provider this yields the API's invalid span (its setters do nothing) and
    touches no trace context.
    """
    if not recording():
        yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(
        name, record_exception=False, set_status_on_exception=False
    ) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        try:
            yield current
        except BaseException as exc:
            code = getattr(exc, "code", type(exc).__name__)
            current.set_status(Status(StatusCode.ERROR, str(code)))
            current.set_attribute("error.code", str(code))
            raise
