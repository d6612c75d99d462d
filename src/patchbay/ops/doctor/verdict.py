"""Turn one probe's outcome into a finding, with the troubleshooting table's fix."""

from __future__ import annotations

from patchbay.ops.advice import TIMEOUT, UNREACHABLE, Component, advice_for, http_advice
from patchbay.ops.doctor.findings import Finding, Status
from patchbay.ops.doctor.probe import ProbeResult

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-arequestid", "x-amzn-requestid", "cf-ray")


def request_id(result: ProbeResult) -> str | None:
    """The upstream's request id, to quote when reporting a server error to the vendor."""
    if result.response is None:
        return None
    for name in _REQUEST_ID_HEADERS:
        value = result.response.headers.get(name)
        if value:
            return str(value)
    return None


def problem_finding(check: str, result: ProbeResult, component: Component, what: str) -> Finding | None:
    """A failing finding when ``result`` has no answer (timeout, unreachable, blocked); else None."""
    if result.problem is None:
        return None
    if result.problem == "timeout":
        return Finding(check, "fail", f"{what}: {result.detail} from {result.url}", TIMEOUT)
    if result.problem == "unreachable":
        return Finding(check, "fail", f"{what}: {result.detail} to {result.url}", UNREACHABLE)
    if result.problem == "blocked":
        return Finding(check, "fail", f"{what}: {result.detail}", advice_for("egress_blocked"))
    return Finding(check, "fail", f"{what}: {result.detail}", advice_for(None, component=component))


def status_finding(
    check: str,
    result: ProbeResult,
    component: Component,
    what: str,
    *,
    field: str | None = None,
) -> Finding | None:
    """A finding for a non-2xx answer (None for 2xx, which the caller describes itself)."""
    found = problem_finding(check, result, component, what)
    if found is not None:
        return found
    status = result.status or 0
    if 200 <= status < 300:
        return None
    text = f"{what}: GET {result.url} answered {status}"
    rid = request_id(result)
    if rid:
        text += f" (request id {rid})"
    severity: Status = "warn" if status == 429 else "fail"
    return Finding(check, severity, text, http_advice(status, component, field=field))
