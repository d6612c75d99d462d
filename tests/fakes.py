"""Real HTTP servers on 127.0.0.1 for tests: a recording fake Jira and a scriptable fake OpenAI.

They run in a thread of the test process, so a Patchbay process started by a test (``patchbay
serve`` in a subprocess) talks to them over real sockets.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # a client killed between requests on a kept-alive connection: chaos tests do that
        super().handle_error(request, client_address)


@dataclass
class FakeServer:
    """A threaded HTTP server whose answers come from ``handler``; every request is recorded."""

    handler: Callable[[Recorded], Reply]
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> FakeServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY: the headers and the body go out in two writes; with Nagle on, the body
            # waited for the client's delayed ACK of the headers, ~40 ms on every keep-alive request.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                outer.requests.append(rec)
                status, headers, payload = outer.handler(rec)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-request: that is what chaos tests do

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()


class FakeJira:
    """Records issue edits and keeps issue properties, like Jira's REST API (v3 Cloud, v2 Data Center).

    GET /issue/KEY?fields=F&properties=P returns the fields and properties asked for; an edit
    (PUT /issue/KEY) sets its ``fields`` and its ``properties`` in one request; the per-property
    endpoints (/issue/KEY/properties/P) work as well.
    """

    def __init__(self) -> None:
        self.properties: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()
        self.server = FakeServer(self.handle)
        self.fail_field_puts: list[Reply] = []  # answers for the next field edits, in order (fault injection)
        self.accepted: list[Recorded] = []  # edits with fields answered with 204
        self.fields: dict[str, dict[str, Any]] = {}  # issue key -> fields written
        self.put_gate = threading.Event()  # clear it to hold field edits until it is set again
        self.put_gate.set()
        self.put_arrived = threading.Event()

    def handle(self, req: Recorded) -> Reply:
        edits_fields = _edits_fields(req)
        if edits_fields:
            self.put_arrived.set()
            self.put_gate.wait(timeout=60)
        prop = re.match(r"^/rest/api/[23]/issue/([^/]+)/properties/([^/?]+)", req.path)
        with self.lock:
            if prop and req.method == "GET":
                key = (prop.group(1), prop.group(2))
                if key not in self.properties:
                    return json_reply(404, {"errorMessages": ["The property was not found."]})
                return json_reply(200, {"key": key[1], "value": self.properties[key]})
            if prop and req.method == "PUT":
                self.properties[(prop.group(1), prop.group(2))] = req.json()
                return 200, {}, b""
            issue = re.match(r"^/rest/api/[23]/issue/([^/?]+)", req.path)
            if issue and req.method == "PUT":
                if edits_fields and self.fail_field_puts:
                    return self.fail_field_puts.pop(0)
                body = req.json()
                if edits_fields:
                    self.accepted.append(req)
                    self.fields.setdefault(issue.group(1), {}).update(body["fields"])
                for entry in body.get("properties", []):
                    self.properties[(issue.group(1), entry["key"])] = entry["value"]
                return 204, {}, b""
            if issue and req.method == "GET":
                query = parse_qs(urlsplit(req.path).query)
                wanted = ",".join(query.get("fields", [])).split(",")
                asked = ",".join(query.get("properties", [])).split(",")
                fields = self.fields.get(issue.group(1), {})
                return json_reply(
                    200,
                    {
                        "key": issue.group(1),
                        "fields": {f: fields.get(f) for f in wanted if f},
                        "properties": {
                            p: self.properties[(issue.group(1), p)]
                            for p in asked
                            if (issue.group(1), p) in self.properties
                        },
                    },
                )
        return json_reply(404, {"errorMessages": [f"no route {req.method} {req.path}"]})

    def field_writes(self) -> list[Recorded]:
        """Every edit that set a field (answered or not)."""
        return [r for r in self.server.requests if _edits_fields(r)]


def _edits_fields(req: Recorded) -> bool:
    if req.method != "PUT" or "/properties/" in req.path or "/issue/" not in req.path:
        return False
    try:
        body = req.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("fields"))


class FakeOpenAI:
    """An OpenAI-compatible chat-completions endpoint; ``gate`` can hold requests until released."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = threading.Event()
        self.raw_reply: Reply | None = None  # fault injection: answer this instead
        self.delay_s = 0.0
        self.server = FakeServer(self.handle)

    def handle(self, req: Recorded) -> Reply:
        self.arrived.set()
        self.gate.wait(timeout=60)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.raw_reply is not None:
            return self.raw_reply
        return json_reply(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "fake-model",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": self.answer},
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
            },
        )

    def completions(self) -> list[Recorded]:
        return [r for r in self.server.requests if r.path.endswith("/chat/completions")]
