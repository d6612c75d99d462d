"""What operators see while runs happen: metrics move, one trace per delivery, logs carry ids, no secrets."""

from __future__ import annotations

import io
import json
import sys

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from fakes import FakeJira
from patchbay.logs import configure_logging
from patchbay.observability import tracing
from patchbay.runs.durable import DurableEngine
from projects import HOOK_SECRET, encode, signed, ticket, wait_final

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def metric(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float], metric_name: str, /, **labels: str
) -> float:
    return values.get((metric_name, tuple(sorted(labels.items()))), 0.0)


async def deliver(client: httpx.AsyncClient, key: str) -> str:
    body = encode(ticket(key))
    resp = await client.post(
        "/hooks/ticket-summary", content=body, headers=signed(body, delivery_id=f"o-{key}")
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["run_id"])


async def test_metrics_change_as_runs_happen(engine: DurableEngine, client: httpx.AsyncClient) -> None:
    before = scrape((await client.get("/metrics")).text)
    await wait_final(engine.store, await deliver(client, "SUP-70"))
    await client.post("/hooks/ticket-summary", content=b"{}", headers={"X-Hub-Signature": "sha256=00"})
    after = scrape((await client.get("/metrics")).text)

    def delta(metric_name: str, /, **labels: str) -> float:
        return metric(after, metric_name, **labels) - metric(before, metric_name, **labels)

    assert delta("patchbay_webhook_deliveries_total", integration="ticket-summary", outcome="accepted") == 1
    assert (
        delta("patchbay_webhook_deliveries_total", integration="ticket-summary", outcome="signature_invalid")
        == 1
    )
    assert delta("patchbay_runs_total", integration="ticket-summary", status="succeeded") == 1
    assert delta("patchbay_run_duration_seconds_count", integration="ticket-summary", status="succeeded") == 1
    assert delta("patchbay_step_duration_seconds_count", integration="ticket-summary", step="model") == 1
    assert delta("patchbay_model_tokens_total", provider="primary", model="fake-model", direction="in") == 120
    assert delta("patchbay_model_tokens_total", provider="primary", model="fake-model", direction="out") == 40
    assert delta("patchbay_writes_total", target="jira", status="written") == 1
    assert metric(after, "patchbay_breaker_state", kind="provider", name="primary") == 0


async def test_one_trace_spans_intake_steps_model_and_write(
    engine: DurableEngine, client: httpx.AsyncClient, fake_jira: FakeJira
) -> None:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing(
        otlp_endpoint=None, service_name="patchbay-test", environment="dev", exporter=exporter
    )
    await wait_final(engine.store, await deliver(client, "SUP-71"))
    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    expected = {
        "intake.delivery",
        "run",
        "step.validate",
        "step.select",
        "step.sanitize",
        "step.prompt",
        "step.model",
        "model.call",
        "step.postprocess",
        "step.write",
        "target.write",
    }
    assert expected <= set(by_name), sorted(by_name)
    trace_ids = {by_name[n].context.trace_id for n in expected}
    assert len(trace_ids) == 1  # one trace per delivery, across intake and the run
    assert (
        by_name["run"].parent is not None
        and by_name["run"].parent.span_id == by_name["intake.delivery"].context.span_id
    )
    assert by_name["model.call"].attributes["gen_ai.usage.input_tokens"] == 120
    assert by_name["target.write"].attributes["patchbay.write_status"] == "written"


async def test_logs_carry_the_bound_ids_and_no_secret(
    engine: DurableEngine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging("prod")  # JSON lines
    run_id = await deliver(client, "SUP-72")
    await wait_final(engine.store, run_id)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    run_lines = [line for line in lines if line.get("run_id") == run_id]
    intake_lines = [line for line in lines if line["event"].startswith("intake.")]
    assert {line["event"] for line in run_lines} >= {"run.step_started", "run.finished"}
    assert all(line["integration"] == "ticket-summary" and line["environment"] for line in run_lines)
    assert intake_lines and all(line["request_id"].startswith("req_") for line in intake_lines)
    text = out.getvalue()
    for secret in (HOOK_SECRET, "jira-pat", "anna@example.org", "415 555 0132"):
        assert secret not in text
