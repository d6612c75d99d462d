"""Alert rules fire on crafted windows, resolve, respect cool-downs, and reach their channels."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from patchbay.http import HttpClientFactory
from patchbay.observability.alert_config import AlertChannel, AlertRule, AlertsConfig, OutputChecks
from patchbay.observability.alerts import MAX_WINDOW_RUNS, AlertEngine, output_problems
from patchbay.pipeline.state import ModelAnswer, RunState

GOOD = "EU customers cannot check out since the deploy. Retrying does not help and support is waiting."


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run(
    seconds: float = 1.0, *, output: str = GOOD, fallback: bool = False, provider: str = "primary"
) -> RunState:
    return RunState(
        run_id="r",
        integration="pilot",
        delivery_id="d",
        event={},
        answer=ModelAnswer(text=output, provider=provider, fallback=fallback),
        output=output,
        timings_ms={"model": seconds * 1000},
    )


def engine(rule: AlertRule, clock: Clock) -> AlertEngine:
    return AlertEngine(AlertsConfig(rules=[rule]), clock=clock)


def feed(alerts: AlertEngine, clock: Clock, runs: list[tuple[RunState, str]]) -> list[dict[str, Any]]:
    changes = []
    for state, status in runs:
        clock.now += 1
        changes += alerts.observe(state, status)
    return changes


@pytest.mark.parametrize(
    ("rule", "bad", "good"),
    [
        (
            AlertRule(name="slow", kind="latency_p95", threshold=5, min_runs=5),
            (run(9), "succeeded"),
            (run(1), "succeeded"),
        ),
        (
            AlertRule(name="errors", kind="error_rate", threshold=0.5, min_runs=5),
            (run(), "failed"),
            (run(), "succeeded"),
        ),
        (
            AlertRule(name="fallbacks", kind="fallback_rate", threshold=0.5, min_runs=5),
            (run(fallback=True), "fallback"),
            (run(), "succeeded"),
        ),
        (
            AlertRule(name="abnormal", kind="abnormal_output", threshold=0.5, min_runs=5),
            (
                run(output="Contact <EMAIL_1> about the outage of the checkout page for the customer."),
                "succeeded",
            ),
            (run(), "succeeded"),
        ),
    ],
)
def test_each_rule_fires_once_and_resolves(
    rule: AlertRule, bad: tuple[RunState, str], good: tuple[RunState, str]
) -> None:
    clock = Clock()
    alerts = engine(rule.model_copy(update={"window_s": 10, "cooldown_s": 0}), clock)
    assert feed(alerts, clock, [good] * 5) == []  # healthy: nothing
    fired = feed(alerts, clock, [bad] * 8)
    assert [a["state"] for a in fired] == ["firing"]  # once, not once per run
    assert fired[0]["rule"] == rule.name and fired[0]["value"] > rule.threshold
    resolved = feed(alerts, clock, [good] * 12)  # the bad runs leave the 10 s window
    assert [a["state"] for a in resolved] == ["resolved"]


def test_min_runs_and_cooldown() -> None:
    clock = Clock()
    alerts = engine(
        AlertRule(name="e", kind="error_rate", threshold=0.5, min_runs=4, window_s=5, cooldown_s=100), clock
    )
    assert feed(alerts, clock, [(run(), "failed")] * 3) == []  # too few runs for a verdict
    assert [a["state"] for a in feed(alerts, clock, [(run(), "failed")])] == ["firing"]
    assert [a["state"] for a in feed(alerts, clock, [(run(), "succeeded")] * 6)] == ["resolved"]
    assert feed(alerts, clock, [(run(), "failed")] * 6) == []  # within the cool-down: silent
    clock.now += 100
    assert [a["state"] for a in feed(alerts, clock, [(run(), "failed")] * 6)] == ["firing"]


def test_output_problems() -> None:
    checks = OutputChecks(max_chars=60)
    assert output_problems(run(output=GOOD), OutputChecks()) == []
    assert "too_long" in output_problems(run(output=GOOD), checks)
    assert "placeholder" in output_problems(run(output="Call <PHONE_1> about the failing checkout."), checks)
    assert "repeated" in output_problems(run(output="the page is down " * 10), OutputChecks(max_chars=999))
    assert "wrong_language" in output_problems(
        run(output="Der Kunde kann seit gestern keine Bestellungen mehr aufgeben, bitte schnell prüfen."),
        checks,
    )
    assert output_problems(run(output=""), checks) == ["empty"]
    safe = run(output="Sorry, I'm having trouble.")
    assert safe.answer is not None
    safe = safe.model_copy(update={"answer": safe.answer.model_copy(update={"safe_fallback": True})})
    assert output_problems(safe, checks) == []


async def test_alerts_reach_slack_and_webhook_channels() -> None:
    seen: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200)

    config = AlertsConfig(
        rules=[AlertRule(name="errors", kind="error_rate", threshold=0.1, min_runs=1)],
        channels=[
            AlertChannel(type="log"),
            AlertChannel(type="slack", url="https://hooks.slack.test/T1/B2"),
            AlertChannel(type="webhook", url="https://alerts.example.test/patchbay"),
        ],
    )
    alerts = AlertEngine(
        config, http=HttpClientFactory(transport=httpx.MockTransport(handler)), environment="prod"
    )
    fired = alerts.observe(run(), "failed")
    await alerts.deliver(fired)
    slack = next(body for path, body in seen if path == "/T1/B2")
    hook = next(body for path, body in seen if path == "/patchbay")
    assert slack == {"text": fired[0]["text"]} and "[FIRING] errors (pilot, prod)" in slack["text"]
    assert hook["rule"] == "errors" and hook["state"] == "firing" and hook["environment"] == "prod"


async def test_a_failing_channel_never_raises() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("down")

    config = AlertsConfig(
        rules=[AlertRule(name="e", kind="error_rate", threshold=0.1, min_runs=1)],
        channels=[AlertChannel(type="webhook", url="https://alerts.example.test/x")],
    )
    alerts = AlertEngine(config, http=HttpClientFactory(transport=httpx.MockTransport(handler)))
    await alerts.deliver(alerts.observe(run(), "failed"))  # logged, not raised


def test_rate_thresholds_are_shares() -> None:
    with pytest.raises(ValueError, match="share"):
        AlertRule(name="x", kind="error_rate", threshold=20)
    with pytest.raises(ValueError, match="url"):
        AlertChannel(type="slack")


@pytest.mark.parametrize("kind", ["latency_p95", "error_rate", "fallback_rate"])
def test_windows_kept_up_to_date_match_a_full_recount_of_the_window(kind: str) -> None:
    # The windows are maintained incrementally (a count, a sorted list): after every run the value an
    # alert reports must equal the one computed from scratch over the runs inside window_s.
    rng = random.Random(7)
    rule = AlertRule(
        name="r", kind=kind, threshold=0.5 if kind != "latency_p95" else 4.5, window_s=30, min_runs=1
    )
    clock = Clock()
    alerts = engine(rule, clock)
    history: list[tuple[float, float, bool, bool]] = []
    for _ in range(400):
        clock.now += rng.choice([0.1, 0.5, 1.0, 3.0, 12.0])
        seconds, failed, fallback = (
            rng.choice([0.5, 1.0, 2.0, 5.0, 9.0]),
            rng.random() < 0.4,
            rng.random() < 0.4,
        )
        history.append((clock.now, seconds, failed, fallback))
        alerts.observe(run(seconds, fallback=fallback), "failed" if failed else "succeeded")
        inside = [h for h in history if clock.now - h[0] <= rule.window_s]
        window = alerts._windows[("r", "pilot")]
        assert len(window) == len(inside)
        if kind == "latency_p95":
            ordered = sorted(h[1] for h in inside)
            expected = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        else:
            expected = sum(1 for h in inside if h[2 if kind == "error_rate" else 3]) / len(inside)
        assert window.measure() == pytest.approx(expected)


def test_a_window_never_holds_more_than_its_cap_of_runs() -> None:
    rule = AlertRule(name="slow", kind="latency_p95", threshold=5, window_s=3600, min_runs=1)
    clock = Clock()
    alerts = engine(rule, clock)
    for n in range(MAX_WINDOW_RUNS + 500):
        clock.now += 0.001  # 1,000 runs/s: 10,500 runs inside one hour
        alerts.observe(run(1.0 if n < 500 else 2.0), "succeeded")
    window = alerts._windows[("slow", "pilot")]
    assert len(window) == MAX_WINDOW_RUNS
    assert window.measure() == 2.0  # the oldest 500 (1 s each) left the window
