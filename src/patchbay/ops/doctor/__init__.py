"""``patchbay doctor``: check a project end to end and say, for each problem, how to fix it.

    config → every secret reference → each provider → each target (auth, field, edit permission)
           → clock skew against the remote servers → the databases

Each check yields :class:`Finding` rows (ok / skip / warn / fail, with a fix from the troubleshooting
table in :mod:`patchbay.ops.advice`). The exit code of the command is the worst finding: 0 ok,
1 warn, 2 fail. A project that does not load is a finding too, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from patchbay.config.loader import LoadedProject, load_project
from patchbay.egress import EgressPolicy
from patchbay.errors import ConfigError, PatchbayError
from patchbay.http import HttpClientFactory
from patchbay.ops.doctor.findings import EXIT_CODES, Finding, Status, exit_code, worst
from patchbay.ops.doctor.local import config_findings, database_findings, loaded_findings
from patchbay.ops.doctor.probe import Clocks
from patchbay.ops.doctor.providers import check_provider
from patchbay.ops.doctor.targets import check_target
from patchbay.runs.databases import resolve

__all__ = ["EXIT_CODES", "Finding", "Status", "diagnose", "exit_code", "worst"]

MAX_SKEW_S = 60.0


def _selection(project: LoadedProject, integration: str | None) -> tuple[set[str], dict[str, set[str]]]:
    """The providers and targets (with the fields written through each) the chosen integrations use."""
    names = [integration] if integration else list(project.integrations)
    providers: set[str] = set()
    targets: dict[str, set[str]] = {}
    for name in names:
        for step in project.integrations[name].steps:
            if step.name == "model":
                providers.update(getattr(step.config, "providers", []))
            elif step.name == "write":
                fields = targets.setdefault(step.config.target, set())  # type: ignore[attr-defined]
                if getattr(step.config, "field", None):
                    fields.add(step.config.field)  # type: ignore[attr-defined]
    if integration is None:  # components no integration uses are still worth checking
        providers.update(project.providers)
        for target in project.targets:
            targets.setdefault(target, set())
    return providers, targets


def _clock_findings(clocks: Clocks) -> list[Finding]:
    if not clocks.skews:
        return [Finding("clock", "skip", "no remote server answered with a Date header to compare against")]
    where, skew = max(clocks.skews, key=lambda item: abs(item[1]))
    if abs(skew) > MAX_SKEW_S:
        side = "ahead of" if skew > 0 else "behind"
        return [
            Finding(
                "clock",
                "warn",
                f"{where}'s clock is {abs(skew):.0f} s {side} this host's",
                "run NTP (chrony/systemd-timesyncd) on this host: timestamped signatures and OAuth tokens "
                "fail beyond a few minutes of skew",
            )
        ]
    return [Finding("clock", "ok", f"within {abs(skew):.0f} s of {len(clocks.skews)} remote server clock(s)")]


async def diagnose(
    config: Path | str | None = None,
    *,
    environment: str | None = None,
    integration: str | None = None,
    issue: str | None = None,
    timeout_s: float = 10.0,
    http: HttpClientFactory | None = None,
) -> list[Finding]:
    """Run every check and return the findings, in the order they were made."""
    try:
        project = load_project(config, environment=environment)
    except ConfigError as exc:
        return config_findings(exc)
    except PatchbayError as exc:  # a secret backend that cannot be reached, for instance
        return [Finding("config", "fail", exc.message, "fix the project's secrets settings")]
    findings = loaded_findings(project)
    if integration is not None and integration not in project.integrations:
        known = ", ".join(sorted(project.integrations)) or "none"
        findings.append(
            Finding("integration", "fail", f"no integration {integration!r} (known: {known})", "")
        )
        return findings
    http = http or HttpClientFactory(
        egress=EgressPolicy.for_environment(project.environment, project.config.egress)
    )
    clocks = Clocks()
    providers, targets = _selection(project, integration)
    try:
        for name in sorted(providers):
            type_name, cfg = project.providers[name]
            findings += await check_provider(
                name, type_name, cfg, http=http, clocks=clocks, root=project.root, timeout_s=timeout_s
            )
        for name in sorted(targets):
            type_name, cfg = project.targets[name]
            findings += await check_target(
                name,
                type_name,
                cfg,
                fields=targets[name],
                issue=issue,
                http=http,
                clocks=clocks,
                root=project.root,
            )
    finally:
        await http.aclose()
    findings += _clock_findings(clocks)
    findings += database_findings(resolve(project))
    return findings
