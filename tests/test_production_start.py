"""The production start of docs/deploy.md: gunicorn with the command line of the vigil-web unit (a
real process), behind a reverse proxy that adds X-Forwarded-For and X-Forwarded-Proto as nginx's
example does, with PUBLIC_URL=https://… and TRUSTED_PROXY_HOPS=1. Vigil then sees the client's
address and HTTPS: the session cookie is Secure, the console sends HSTS, and a sign-in is recorded
from the client's address, not the proxy's, even when the client forges X-Forwarded-For."""
from __future__ import annotations

import http.client
import os
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from incidents.models import LoginRecord
from tests.console.conftest import csrf_from
from tests.e2e.conftest import free_port, log_tail, wait_until

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
HOST = "vigil.example.test"
CLIENT = "127.0.0.2"  # the browser's address: loopback, but not the proxy's 127.0.0.1
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def documented_web_command() -> list[str]:
    """The ExecStart of vigil-web.service in docs/deploy.md, as argv (systemd's %% unescaped)."""
    unit = DEPLOY.read_text().split("# /etc/systemd/system/vigil-web.service", 1)[1].split("```", 1)[0]
    start = re.search(r"^ExecStart=(.*?[^\\])$", unit, re.S | re.M)
    return shlex.split(start.group(1).replace("\\\n", " ").replace("%%", "%"))


def gunicorn_argv(port: int) -> list[str]:
    """The documented command, run by this interpreter on a free port with one worker process."""
    argv = documented_web_command()
    assert Path(argv[0]).name == "gunicorn" and argv[1] == "wsgi:app"
    argv = [sys.executable, "-m", "gunicorn", *argv[1:]]
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    argv[argv.index("--workers") + 1] = "1"  # a small machine running the tests
    return argv


class ReverseProxy:
    """nginx's `proxy_set_header` lines from docs/deploy.md, in a thread: Host is kept, the
    client's address appended to X-Forwarded-For, X-Forwarded-Proto https (TLS ends here)."""

    def __init__(self, upstream_port: int):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.forward(self)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.upstream_port = upstream_port
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
        forwarded = handler.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded}, {handler.client_address[0]}" if forwarded else handler.client_address[0]
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-Host"] = handler.headers.get("Host", "")
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        upstream.request(handler.command, handler.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        handler.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in HOP_HEADERS:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        upstream.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def production(app, database_url, tmp_path_factory):
    """gunicorn as documented, on the test's database, behind the reverse proxy (once per module)."""
    tmp_path = tmp_path_factory.mktemp("production")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(DATABASE_URL=database_url, VIGIL_INSTANCE_PATH=str(tmp_path / "instance"),
               PUBLIC_URL=f"https://{HOST}", TRUSTED_PROXY_HOPS="1", SECRET_KEY="production-start-" + "k" * 32)
    env.pop("CELERY_BROKER_URL", None)
    if os.environ.get("VIGIL_TEST_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["VIGIL_TEST_BROKER_URL"]
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        web = subprocess.Popen(gunicorn_argv(port), cwd=DEPLOY.parents[1], env=env, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    proxy = ReverseProxy(port)
    try:
        wait_until(lambda: web.poll() is None and _status(port, "/healthz") == 200, timeout=30,
                   what="gunicorn to answer", describe=lambda: log_tail(log))
        yield proxy, log
    finally:
        proxy.stop()
        web.terminate()
        web.wait(timeout=30)


def _status(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None


def browser(proxy: ReverseProxy, method: str, path: str, *, body: dict | None = None,
            headers: dict | None = None) -> http.client.HTTPResponse:
    """A request from the client's own address, to the proxy, for https://HOST."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30, source_address=(CLIENT, 0))
    all_headers = {"Host": HOST, **(headers or {})}
    data = None
    if body is not None:
        data = urlencode(body)
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=all_headers)
    response = conn.getresponse()
    response.text = response.read().decode()
    return response


def test_behind_the_proxy_vigil_sees_https_and_the_clients_address(app, production, session):
    proxy, log = production
    page = browser(proxy, "GET", "/login")
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    cookie = page.getheader("Set-Cookie")
    assert cookie.startswith("vigil_session=") and "; Secure" in cookie and "HttpOnly" in cookie

    # A sign-in (a wrong password), with a forged X-Forwarded-For the proxy appends to.
    signed_in = browser(proxy, "POST", "/login", body={
        "csrf_token": csrf_from(page.text), "email": "mallory@example.com", "password": "not the password"},
        headers={"Cookie": cookie.split(";", 1)[0], "Referer": f"https://{HOST}/login",
                 "X-Forwarded-For": "203.0.113.66"})
    assert signed_in.status == 401, signed_in.text[:500]
    [record] = session.scalars(select(LoginRecord)).all()
    assert record.email == "mallory@example.com" and not record.success
    assert record.ip == CLIENT  # not the proxy's 127.0.0.1, not the forged address

    # The documented access log format (gunicorn writes the line just after the answer).
    wait_until(lambda: '"POST /login" 401' in log.read_text(errors="replace"), timeout=10,
               what="the access log line", describe=lambda: log_tail(log))


def test_without_the_proxy_nothing_is_taken_for_https(app, production):
    """Straight to gunicorn (no proxy headers): no HSTS; the cookie stays Secure (PUBLIC_URL)."""
    proxy, _ = production
    conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
    conn.request("GET", "/login", headers={"Host": HOST})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") is None
    assert "; Secure" in response.getheader("Set-Cookie")
