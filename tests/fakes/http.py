"""A loopback HTTP server for protocol-level fakes: it records every request, answers through a
subclass's `route`, plays scripted misbehaviour (an error answer, a hang, a dropped connection),
and collects anything unexpected in `errors` so the fixture fails the test at teardown."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HANG_SECONDS = 30.0  # longer than any client timeout a test uses; stop() cuts it short


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    form: dict[str, str] = field(default_factory=dict)  # x-www-form-urlencoded, one value per name
    json: Any = None
    at: float = field(default_factory=time.time)

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode("utf-8", "replace").partition(":")
        return user, password

    @property
    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value if scheme.lower() == "bearer" else None


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON, str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)


class Unexpected(Exception):
    """Raised by `route` for a request the fake does not understand; recorded and answered 404."""


class FakeServer:
    """Subclasses implement `route(request) -> Reply` and may override `error_reply`."""

    name = "fake"

    def __init__(self):
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.lock = threading.RLock()
        self._script: deque[tuple[str, Any]] = deque()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> "FakeServer":
        """Listen on 127.0.0.1 (the same port again after a stop, so clients keep their URL)."""
        self._release.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        # A short poll interval: stop() waits for the serving loop to notice, once per test.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         name=f"{self.name}-{self._port}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port: clients now get "connection refused". Hanging requests are released."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def assert_clean(self) -> None:
        """Fail on anything unexpected the fake saw, and on scripted behaviour nobody triggered."""
        problems = list(self.errors)
        if self._script:
            problems.append(f"scripted but never used: {[kind for kind, _ in self._script]}")
        assert not problems, f"{self.name} saw unexpected traffic:\n  " + "\n  ".join(problems)

    def take_errors(self) -> list[str]:
        """The errors so far, cleared: for tests that provoke them on purpose."""
        with self.lock:
            errors, self.errors = self.errors, []
        return errors

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(self, status: int = 500, body: Any = None, *, retry_after: str | int | None = None,
                  times: int = 1) -> None:
        """Answer the next `times` valid requests with this error; the provider does not act."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        reply = Reply(status, body if body is not None else self.error_body(status), headers)
        self._script.extend([("fail", reply)] * times)

    def hang_next(self, seconds: float = HANG_SECONDS) -> None:
        """The next valid request is acted on, then answered only after `seconds` (client times out)."""
        self._script.append(("hang", seconds))

    def drop_next(self) -> None:
        """The next valid request is acted on, then the connection is closed with no answer."""
        self._script.append(("drop", None))

    def error_body(self, status: int) -> Any:
        return {"status": status, "message": "scripted failure"}

    @property
    def scripted(self) -> int:
        """How many scripted misbehaviours are still to be played (a test waits for 0)."""
        with self.lock:
            return len(self._script)

    def refuse_for(self, seconds: float) -> None:
        """Close the port for `seconds` (connection refused), then listen on it again."""
        self.stop()
        time.sleep(seconds)
        self.start()

    # --- request handling -----------------------------------------------------------------------

    def route(self, request: Request) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def authorize(self, request: Request) -> Reply | None:
        """A reply refusing the request, or None to go on; subclasses check credentials here."""
        return None

    def unexpected(self, request: Request, why: str) -> None:
        with self.lock:
            self.errors.append(f"{request.method} {request.path}: {why}")

    def handle(self, request: Request) -> tuple[str, Reply, Any]:
        """(what to do, reply, argument): "reply", "hang" (seconds) or "drop"."""
        with self.lock:
            self.requests.append(request)
            refusal = self.authorize(request)
            if refusal is not None:
                return "reply", refusal, None
            if self.accepts(request) and self._script:
                kind, argument = self._script.popleft()
                if kind == "fail":
                    return "reply", argument, None
                return kind, self._route(request), argument
            return "reply", self._route(request), None

    def accepts(self, request: Request) -> bool:
        """Whether scripted behaviour applies to this request (subclasses exclude side channels)."""
        return True

    def _route(self, request: Request) -> Reply:
        try:
            return self.route(request)
        except Unexpected as exc:
            self.unexpected(request, str(exc))
            return Reply(404, {"error": f"unexpected request: {exc}"})


def parse(handler: BaseHTTPRequestHandler, body: bytes) -> Request:
    parts = urlsplit(handler.path)
    headers = {k.lower(): v for k, v in handler.headers.items()}
    request = Request(handler.command, parts.path, parse_qs(parts.query), headers, body)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        pairs = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        request.form = {name: values[-1] for name, values in pairs.items()}
    elif content_type == "application/json" and body:
        request.json = json.loads(body)
    return request


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK wait

        def do_POST(self):
            self._serve()

        do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            request = parse(self, self.rfile.read(length) if length else b"")
            if "chunked" in self.headers.get("Transfer-Encoding", ""):
                fake.unexpected(request, "chunked body")
            action, reply, argument = fake.handle(request)
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if action == "hang":
                fake._release.wait(argument)
            try:
                self._write(reply)
            except OSError:  # the client gave up waiting (the point of a hang)
                self.close_connection = True

        def _write(self, reply: Reply):
            body = reply.body
            content_type = "application/json"
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body, content_type = body.encode(), "text/plain; charset=utf-8"
            body = body or b""
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - quiet test output
            pass

    return Handler
