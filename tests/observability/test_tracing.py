"""Tracing when it is off: spans cost almost nothing and leave the trace context alone."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace

from patchbay.observability import tracing


@pytest.fixture
def no_provider() -> None:
    if tracing.recording():  # another test in this process installed one (set once per process)
        pytest.skip("a tracer provider is installed in this test process")


@pytest.mark.usefixtures("no_provider")
def test_without_a_provider_a_span_is_the_invalid_one_and_the_context_is_untouched() -> None:
    before = otel_context.get_current()
    with tracing.span("step.model", **{"patchbay.step": "model"}) as current:
        assert current is trace.INVALID_SPAN
        assert otel_context.get_current() is before  # nothing attached
        current.set_attribute("x", 1)  # a no-op, not an error
    assert tracing.carrier() == {}


@pytest.mark.usefixtures("no_provider")
def test_without_a_provider_errors_still_propagate_through_a_span() -> None:
    with pytest.raises(KeyError), tracing.span("run"):
        raise KeyError("boom")


@pytest.mark.usefixtures("no_provider")
def test_without_a_provider_a_continued_trace_attaches_nothing() -> None:
    before = otel_context.get_current()
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    with tracing.continued(carrier):
        assert otel_context.get_current() is before
