"""Doctor checks of write-back targets. Jira: who am I, does the field exist, may I edit it?

* ``GET /rest/api/{v}/myself`` - the credentials work (401: token wrong/expired; 403: no access);
* ``GET /rest/api/{v}/field`` - every field a write step names exists (else 404 advice);
* with ``--issue KEY``: ``GET /rest/api/{v}/issue/KEY/editmeta`` - the field is on that issue's edit
  screen for this account, i.e. this token can edit that field.

The requests go through the target's own client (same auth, OAuth token renewal, egress guard).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from patchbay import registry
from patchbay.connectors.jira.target import ISSUE_KEY
from patchbay.http import HttpClientFactory
from patchbay.ops.advice import http_advice
from patchbay.ops.doctor.findings import Finding
from patchbay.ops.doctor.probe import Clocks, get
from patchbay.ops.doctor.verdict import status_finding


async def check_target(
    name: str,
    type_name: str,
    config: Any,
    *,
    fields: set[str],
    issue: str | None,
    http: HttpClientFactory,
    clocks: Clocks,
    root: Path,
) -> list[Finding]:
    """The findings for one target; ``fields`` are the fields write steps write through it."""
    check = f"target {name}"
    if type_name == "jira":
        return await _jira(check, name, config, fields, issue, http, clocks, root)
    if type_name in {"memory", "file"}:
        return [Finding(check, "ok", f"{type_name}: local, nothing to reach")]
    return [Finding(check, "skip", f"no doctor check for target type {type_name!r}")]


async def _jira(
    check: str,
    name: str,
    config: Any,
    fields: set[str],
    issue: str | None,
    http: HttpClientFactory,
    clocks: Clocks,
    root: Path,
) -> list[Finding]:
    if not config.base_url or config.auth is None:
        missing = "base_url" if not config.base_url else "auth"
        return [
            Finding(
                check,
                "warn",
                f"no {missing}: preview mode, runs plan their writes but send nothing",
                "set base_url and auth ({kind: basic, email, api_token: ${secret:JIRA_API_TOKEN}})",
            )
        ]
    target = registry.load("target", "jira").build(
        config, registry.BuildContext(name=name, http=http, root=root)
    )
    client = target._client(config.base_url, config.auth)
    api = "3" if config.deployment == "cloud" else "2"
    base = f"{config.base_url}/rest/api/{api}"
    me = await get(client, f"{base}/myself", where=check, clocks=clocks)
    bad = status_finding(check, me, "target", f"Jira auth at {config.base_url}")
    if bad is not None:
        return [bad]  # without working credentials the other checks only repeat the same error
    who = me.json()
    label = (
        who.get("displayName") or who.get("name") or who.get("emailAddress")
        if isinstance(who, dict)
        else None
    )
    findings = [Finding(check, "ok", f"authenticated as {label or 'the configured account'}")]
    findings.extend(await _fields(check, client, base, fields, clocks))
    findings.extend(await _editable(check, client, base, fields, issue, clocks))
    return findings


async def _fields(check: str, client: Any, base: str, fields: set[str], clocks: Clocks) -> list[Finding]:
    if not fields:
        return []
    result = await get(client, f"{base}/field", where=check, clocks=clocks)
    bad = status_finding(check, result, "target", "Jira field list")
    if bad is not None:
        return [bad]
    data = result.json()
    known = (
        {str(f.get("id")): str(f.get("name") or "") for f in data if isinstance(f, dict)}
        if isinstance(data, list)
        else {}
    )
    findings = []
    for field in sorted(fields):
        if field in known:
            findings.append(Finding(check, "ok", f"field {field} exists ({known[field] or 'no name'})"))
        else:
            by_name = [fid for fid, fname in known.items() if fname.lower() == field.lower()]
            hint = f"; a field named {field!r} has id {by_name[0]}, use the id" if by_name else ""
            findings.append(
                Finding(
                    check,
                    "fail",
                    f"field {field} does not exist in this Jira ({len(known)} fields listed){hint}",
                    http_advice(404, "target", field=field),
                )
            )
    return findings


async def _editable(
    check: str, client: Any, base: str, fields: set[str], issue: str | None, clocks: Clocks
) -> list[Finding]:
    if not fields:
        return []
    if issue is None:
        return [
            Finding(
                check,
                "skip",
                f"edit permission on {', '.join(sorted(fields))} not checked",
                "pass --issue KEY (an issue the integration writes to) to check the token can edit it",
            )
        ]
    if not ISSUE_KEY.fullmatch(issue):
        return [Finding(check, "fail", f"--issue {issue!r} is not an issue key like SUP-123", "")]
    result = await get(client, f"{base}/issue/{quote(issue, safe='')}/editmeta", where=check, clocks=clocks)
    bad = status_finding(check, result, "target", f"edit screen of {issue}")
    if bad is not None:
        if result.status == 404:
            bad = Finding(
                check,
                "fail",
                f"issue {issue} not found, or this account cannot see it",
                "check the key and that the account has 'Browse projects' in that project",
            )
        return [bad]
    data = result.json()
    editable = data.get("fields") if isinstance(data, dict) else None
    editable = editable if isinstance(editable, dict) else {}
    findings = []
    for field in sorted(fields):
        if field in editable:
            findings.append(Finding(check, "ok", f"this account can edit {field} on {issue}"))
        else:
            findings.append(
                Finding(
                    check,
                    "fail",
                    f"{field} is not on the edit screen of {issue} for this account (writes answer 400)",
                    http_advice(400, "target"),
                )
            )
    return findings
