"""A circuit breaker: stop calling a component that keeps failing, try again after a cool-down.

    closed ──(N consecutive failures, or error rate over the window)──▶ open
    open ──(cooldown_s passed)──▶ half-open: one trial call
    half-open ──success──▶ closed        half-open ──failure──▶ open

Only failures that say "the other side is unwell" count (``Retryable`` errors: 429, 5xx, resets,
timeouts); a permanent 4xx says the request was wrong, not the provider. The breaker is per process:
each worker learns a provider's health on its own, as a breaker should.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field

from patchbay.observability import metrics

log = structlog.get_logger("patchbay.resilience")

State = Literal["closed", "open", "half_open"]
STATE_VALUE: dict[State, int] = {"closed": 0, "half_open": 1, "open": 2}


class BreakerConfig(BaseModel):
    """Circuit breaker of one provider or target (the ``breaker:`` key beside ``type:``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Set false to never open the circuit.")
    failures: int = Field(default=5, ge=1, description="Open after this many consecutive failures.")
    error_rate: float = Field(
        default=0.5, gt=0, le=1, description="...or when this share of calls in the window failed."
    )
    min_calls: int = Field(default=10, ge=1, description="Calls in the window before error_rate applies.")
    window_s: float = Field(default=60.0, gt=0, description="Sliding window of the error rate, in seconds.")
    cooldown_s: float = Field(default=30.0, gt=0, description="Seconds open before one trial call.")


class CircuitBreaker:
    """Thread safe: runs may execute on several event loops of one process."""

    def __init__(
        self, name: str, kind: str, config: BreakerConfig, *, clock: Callable[[], float] = time.monotonic
    ):
        self.name = name
        self.kind = kind
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_running = False
        self._calls: deque[tuple[float, bool]] = deque()
        self._failed = 0  # failures among self._calls, kept as calls enter and leave the window
        metrics.BREAKER_STATE.labels(kind=kind, name=name).set(0)

    @property
    def state(self) -> State:
        """The current state, moving open -> half_open once the cool-down has passed."""
        with self._lock:
            return self._current()

    def _current(self) -> State:
        if self._state == "open" and self._clock() - self._opened_at >= self.config.cooldown_s:
            self._set("half_open")
        return self._state

    def _set(self, state: State) -> None:
        if state == self._state:
            return
        self._state = state
        metrics.BREAKER_STATE.labels(kind=self.kind, name=self.name).set(STATE_VALUE[state])
        if state == "open":
            metrics.BREAKER_OPENED.labels(kind=self.kind, name=self.name).inc()
        event = {"open": "breaker.opened", "half_open": "breaker.half_opened", "closed": "breaker.closed"}[
            state
        ]
        log.warning(event, kind=self.kind, name=self.name) if state == "open" else log.info(
            event, kind=self.kind, name=self.name
        )

    def remaining_s(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        with self._lock:
            if self._current() != "open":
                return 0.0
            return max(0.0, self.config.cooldown_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only one trial at a time."""
        if not self.config.enabled:
            return True
        with self._lock:
            state = self._current()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record(self, ok: bool) -> None:
        """Count a finished call: ``ok`` False only for failures that say the other side is unwell."""
        if not self.config.enabled:
            return
        with self._lock:
            now = self._clock()
            self._calls.append((now, ok))
            self._failed += not ok
            # A running count, not a sum over the window per call: at 75 runs/s the window held
            # ~4,500 calls, and summing them took ~7% of a worker's CPU.
            while self._calls and now - self._calls[0][0] > self.config.window_s:
                self._failed -= not self._calls.popleft()[1]
            if self._state == "half_open":
                self._trial_running = False
                if ok:
                    self._consecutive = 0
                    self._calls.clear()
                    self._failed = 0
                    self._set("closed")
                else:
                    self._opened_at = now
                    self._set("open")
                return
            self._consecutive = 0 if ok else self._consecutive + 1
            rate_tripped = (
                len(self._calls) >= self.config.min_calls
                and self._failed / len(self._calls) >= self.config.error_rate
            )
            if self._state == "closed" and (self._consecutive >= self.config.failures or rate_tripped):
                self._opened_at = now
                self._set("open")

    def release_trial(self) -> None:
        """A trial call ended without a verdict (cancelled, or a permanent error): let another try."""
        with self._lock:
            self._trial_running = False
