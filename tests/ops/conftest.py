"""A fake Jira that answers the doctor's questions (myself, field, editmeta), on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fakes import FakeServer, Recorded, Reply, json_reply

TOKEN = "jira-pat"  # what tests/projects.py writes as JIRA_TOKEN


@dataclass
class DoctorJira:
    """Jira Cloud's REST v3, as far as 'patchbay doctor' asks it."""

    fields: dict[str, str] = field(
        default_factory=lambda: {"summary": "Summary", "customfield_10050": "AI triage summary"}
    )
    editable: set[str] = field(default_factory=lambda: {"summary", "customfield_10050"})
    myself: Reply | None = None  # fault injection: answer this to GET /myself

    def __post_init__(self) -> None:
        self.server = FakeServer(self.handle)

    def handle(self, req: Recorded) -> Reply:
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return json_reply(401, {"errorMessages": ["You are not authenticated."]})
        if req.path == "/rest/api/3/myself":
            return self.myself or json_reply(200, {"accountId": "5b10", "displayName": "Patchbay Bot"})
        if req.path == "/rest/api/3/field":
            return json_reply(200, [{"id": k, "name": v} for k, v in self.fields.items()])
        meta = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)/editmeta", req.path)
        if meta and meta.group(1) == "SUP-7":
            return json_reply(200, {"fields": {f: {"name": self.fields.get(f, f)} for f in self.editable}})
        return json_reply(
            404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}
        )


@pytest.fixture
def doctor_jira() -> Iterator[DoctorJira]:
    jira = DoctorJira()
    jira.server.start()
    yield jira
    jira.server.stop()
