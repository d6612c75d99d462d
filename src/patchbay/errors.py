"""Patchbay's error tree.

Every error Patchbay raises on purpose derives from :class:`PatchbayError`. Two marker classes say
what a caller may do about it; retry and fallback logic only ever asks
``isinstance(err, Retryable)``::

    PatchbayError                      root; carries a safe ``message`` and an error ``code``
    ├── Retryable                      marker: the same call may succeed later
    ├── Permanent                      marker: retrying the same call cannot help
    ├── ConfigError (Permanent)        a project file is wrong: file, line, field, what is allowed
    ├── SecretError (Permanent)        a ``${secret:NAME}`` reference cannot be resolved
    ├── EventError (Permanent)         an incoming event fails validation (``validate`` step)
    ├── RequestError (Permanent)       an inbound HTTP request is malformed (400/401/413/404)
    ├── ModelError                     a model provider failed
    │   ├── ModelTimeout (Retryable)       the attempt took longer than its timeout
    │   ├── ModelUnavailable (Retryable)   429 / 5xx / connection reset; may carry retry_after
    │   ├── ModelRejected (Permanent)      other 4xx: bad key, bad request, unknown model
    │   ├── ModelCircuitOpen (Permanent)   the provider's breaker is open: move on to the next provider
    │   └── ModelOutputError (Permanent)   an answer came back but is empty, cut off or abnormal
    ├── TargetError                    writing back to a target system failed
    │   ├── TargetUnavailable (Retryable)  429 / 5xx / connection reset; may carry retry_after
    │   │   └── TargetCircuitOpen              the target's breaker is open: wait retry_after, try again
    │   └── TargetRejected (Permanent)     other 4xx: field not on screen, no permission, ...
    └── StepError (Permanent)          a pipeline step cannot produce its output

Concrete errors carry ``status_code`` (the upstream or HTTP status when there is one) and
``retry_after`` (seconds, from an upstream ``Retry-After``) next to a message that is safe to show
and to log: it never contains a secret or the text of a ticket.
"""

from __future__ import annotations


class PatchbayError(Exception):
    """Root of every error Patchbay raises on purpose."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        if code is not None:
            self.code = code

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed if tried again later."""
        return isinstance(self, Retryable)


class Retryable(PatchbayError):
    """Marker: the failed call may succeed if repeated (after ``retry_after`` when given)."""


class Permanent(PatchbayError):
    """Marker: repeating the failed call cannot help; fix the input, config or credentials."""


class ConfigError(Permanent):
    """A project file, overlay or ``.env`` is wrong. ``issues`` lists every problem found."""

    code = "config_invalid"

    def __init__(self, message: str, *, issues: list[ConfigIssue] | None = None) -> None:
        super().__init__(message)
        self.issues: list[ConfigIssue] = issues or []

    def __str__(self) -> str:
        if not self.issues:
            return self.message
        lines = [self.message]
        lines.extend(f"  - {issue}" for issue in self.issues)
        return "\n".join(lines)


class ConfigIssue:
    """One problem in a config file: where it is, which field, and what is allowed."""

    __slots__ = ("allowed", "field", "file", "line", "message")

    def __init__(
        self, *, file: str | None, line: int | None, field: str, message: str, allowed: str | None = None
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        self.allowed = allowed

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = f"{where}: {self.field or '(top level)'}: {self.message}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text

    def __repr__(self) -> str:
        return f"ConfigIssue({self})"


class SecretError(Permanent):
    """A ``${secret:NAME}`` reference could not be resolved by any configured provider."""

    code = "secret_missing"


class EventError(Permanent):
    """An incoming event does not satisfy the integration's ``validate`` step."""

    code = "event_invalid"


class RequestError(Permanent):
    """An inbound HTTP request is malformed or unauthenticated; ``status_code`` is the answer."""

    code = "bad_request"


class StepError(Permanent):
    """A pipeline step cannot produce its output from its input."""

    code = "step_failed"


class ModelError(PatchbayError):
    """A model provider call failed."""

    code = "model_error"


class ModelTimeout(ModelError, Retryable):
    """A model attempt took longer than its per-attempt timeout."""

    code = "model_timeout"


class ModelUnavailable(ModelError, Retryable):
    """The provider is rate limiting (429), overloaded (5xx) or unreachable."""

    code = "model_unavailable"


class ModelRejected(ModelError, Permanent):
    """The provider refused the request (4xx other than 429): bad key, bad model, bad request."""

    code = "model_rejected"


class ModelCircuitOpen(ModelError, Permanent):
    """The provider's circuit breaker is open: fail fast so the fallback chain moves on."""

    code = "circuit_open"


class ModelOutputError(ModelError, Permanent):
    """The provider answered, but the answer is empty, cut off, a copy of the input or abnormal."""

    code = "model_output_invalid"


class TargetError(PatchbayError):
    """Writing the result back to the target system failed."""

    code = "target_error"


class TargetUnavailable(TargetError, Retryable):
    """The target is rate limiting (429), overloaded (5xx) or unreachable."""

    code = "target_unavailable"


class TargetCircuitOpen(TargetUnavailable):
    """The target's circuit breaker is open: the write waits ``retry_after`` and tries again."""

    code = "circuit_open"


class TargetRejected(TargetError, Permanent):
    """The target refused the write (4xx other than 429)."""

    code = "target_rejected"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds)
