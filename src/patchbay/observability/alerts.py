"""Alert rules evaluated in-process over sliding windows of finished runs.

Each process evaluates the runs it finished (for fleet-wide alerting, use the Prometheus rules in
``deploy/prometheus/patchbay-alerts.yml`` on the exported metrics). An alert fires once when its rule
turns true, resolves when it turns false, and does not fire again within ``cooldown_s`` after
resolving. Delivery failures are logged, never raised into a run.
"""

from __future__ import annotations

import re
import threading
import time
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from patchbay.guards import repeated_share
from patchbay.http import HttpClientFactory
from patchbay.observability import metrics
from patchbay.observability.alert_config import AlertRule, AlertsConfig, OutputChecks
from patchbay.pipeline.state import RunState

log = structlog.get_logger("patchbay.alerts")

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
_WORD = re.compile(r"[A-Za-z\u00C0-\uFFFF']+")
# Common English words: an "en" output with none of them is in another language (or gibberish).
_ENGLISH_WORDS = (
    "the a an and or of to in on for with is are was were be been it this that as at by from not no has "
    "have had after before when while but if so user users customer customers ticket error issue"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
# A rule's window keeps at most this many runs (the most recent): a share or a p95 over 10,000 runs
# is as good as over all of them, and memory stays bounded at any rate.
MAX_WINDOW_RUNS = 10_000
_FLAGS = {"error_rate": "failed", "fallback_rate": "fallback", "abnormal_output": "abnormal"}


def output_problems(state: RunState, checks: OutputChecks) -> list[str]:
    """What is abnormal about a run's output.

    Any of: empty, too_long, wrong_language, repeated, placeholder, sensitive.
    """
    text = state.output
    if state.answer is not None and state.answer.safe_fallback:
        return []  # the safe message is counted as a fallback, not as an abnormal output
    if text is None or not text.strip():
        return ["empty"] if state.answer is not None else []
    problems: list[str] = []
    if len(text) > checks.max_chars:
        problems.append("too_long")
    words = [w.lower() for w in _WORD.findall(text)]
    if checks.language == "en" and len(words) >= 8 and not any(w in _ENGLISH for w in words):
        problems.append("wrong_language")
    if repeated_share(text) > 0.3:
        problems.append("repeated")
    if _PLACEHOLDER.search(text):
        problems.append("placeholder")
    if getattr(state, "output_findings", None):
        problems.append("sensitive")
    return problems


@dataclass
class _Sample:
    at: float
    seconds: float
    failed: bool
    fallback: bool
    abnormal: bool


class _Window:
    """One rule's sliding window over one integration's runs, with what the rule measures kept up to
    date as runs come and go: a count for the share rules, a sorted list for the p95 rule. Each run
    costs O(log n) (plus a memmove for the p95), not a pass over the whole window."""

    def __init__(self, rule: AlertRule) -> None:
        self.window_s = rule.window_s
        self.flag = _FLAGS.get(rule.kind)  # None: the latency rule
        self.samples: deque[_Sample] = deque()
        self.flagged = 0
        self.ordered: list[float] = []

    def add(self, sample: _Sample) -> None:
        self.samples.append(sample)
        self._count(sample, 1)
        while self.samples and (
            sample.at - self.samples[0].at > self.window_s or len(self.samples) > MAX_WINDOW_RUNS
        ):
            self._count(self.samples.popleft(), -1)

    def _count(self, sample: _Sample, sign: int) -> None:
        if self.flag is not None:
            self.flagged += sign * bool(getattr(sample, self.flag))
        elif sign > 0:
            insort(self.ordered, sample.seconds)
        else:
            del self.ordered[bisect_left(self.ordered, sample.seconds)]

    def __len__(self) -> int:
        return len(self.samples)

    def measure(self) -> float:
        """The share of flagged runs, or the p95 duration in seconds."""
        if self.flag is not None:
            return self.flagged / len(self.samples)
        return self.ordered[min(len(self.ordered) - 1, int(0.95 * len(self.ordered)))]


@dataclass
class _RuleState:
    firing: bool = False
    resolved_at: float = -1e18


Deliver = Callable[[dict[str, Any]], Any]


class AlertEngine:
    """Keeps bounded windows per integration and evaluates every rule after each finished run."""

    def __init__(
        self,
        config: AlertsConfig,
        *,
        http: HttpClientFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        environment: str = "dev",
    ) -> None:
        self.config = config
        self._http = http
        self._clock = clock
        self._environment = environment
        self._windows: dict[tuple[str, str], _Window] = {}  # (rule name, integration)
        self._states: dict[tuple[str, str], _RuleState] = {}
        self._lock = threading.Lock()
        self.sent: list[dict[str, Any]] = []  # the last alerts, for tests and the console (bounded)

    def observe(self, state: RunState, status: str) -> list[dict[str, Any]]:
        """Add a finished run and return the alerts that fired or resolved because of it."""
        problems = output_problems(state, self.config.output)
        for kind in problems:
            metrics.OUTPUT_PROBLEMS.labels(integration=state.integration, kind=kind).inc()
        sample = _Sample(
            at=self._clock(),
            seconds=sum(state.timings_ms.values()) / 1000,
            failed=status == "failed",
            fallback=bool(state.answer and state.answer.fallback),
            abnormal=bool(problems),
        )
        with self._lock:
            changes = [
                c
                for rule in self.config.rules
                if rule.integration in (None, state.integration)
                for c in [self._evaluate(rule, state.integration, sample)]
                if c is not None
            ]
        return changes

    def _evaluate(self, rule: AlertRule, integration: str, sample: _Sample) -> dict[str, Any] | None:
        key = (rule.name, integration)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(rule)
        window.add(sample)
        current = self._states.setdefault(key, _RuleState())
        if len(window) < rule.min_runs:
            return None
        value = window.measure()
        now = sample.at
        breached = value > rule.threshold
        if breached and not current.firing and now - current.resolved_at >= rule.cooldown_s:
            current.firing = True
            return self._emit("firing", rule, integration, value, len(window))
        if not breached and current.firing:
            current.firing = False
            current.resolved_at = now
            return self._emit("resolved", rule, integration, value, len(window))
        return None

    def _emit(self, state: str, rule: AlertRule, integration: str, value: float, runs: int) -> dict[str, Any]:
        unit = "s" if rule.kind == "latency_p95" else ""
        shown = f"{value:.2f}{unit}" if unit else f"{value:.0%}"
        limit = f"{rule.threshold:g}{unit}" if unit else f"{rule.threshold:.0%}"
        alert = {
            "state": state,
            "rule": rule.name,
            "kind": rule.kind,
            "integration": integration,
            "environment": self._environment,
            "value": round(value, 4),
            "threshold": rule.threshold,
            "runs_in_window": runs,
            "text": f"[{state.upper()}] {rule.name} ({integration}, {self._environment}): "
            f"{rule.kind} {shown} vs {limit} over the last {runs} runs",
        }
        metrics.ALERTS.labels(rule=rule.name, state=state).inc()
        self.sent.append(alert)
        del self.sent[:-100]
        return alert

    async def deliver(self, alerts: list[dict[str, Any]]) -> None:
        """Send alerts to every channel; failures are logged and swallowed."""
        for alert in alerts:
            for channel in self.config.channels:
                try:
                    if channel.type == "log":
                        log.warning(
                            "alert." + alert["state"], **{k: v for k, v in alert.items() if k != "state"}
                        )
                    elif self._http is not None and channel.url is not None:
                        body = {"text": alert["text"]} if channel.type == "slack" else alert
                        client = self._http.client(f"alerts:{channel.type}", timeout=5.0)
                        response = await client.post(channel.url.get_secret_value(), json=body)
                        response.raise_for_status()
                except Exception as exc:  # an alert must never break a run
                    log.error("alert.delivery_failed", channel=channel.type, error=type(exc).__name__)
