"""An SMTP sink for tests: aiosmtpd on 127.0.0.1 (a free port) that the real smtplib client talks to.

It records every message it accepts, parsed into an `email.message.EmailMessage`, with the
envelope, the user that logged in and whether the session was encrypted. Import the fixture into
a test module:

    from tests.fakes.smtp import smtp_sink  # noqa: F401

    def test_invitation_is_mailed(smtp_sink):
        mailer = SmtpMailer(smtp_sink.settings())
        ...
        [received] = smtp_sink.wait_for(1)
        assert received.message["Subject"] == "..."

Other shapes (a login required, STARTTLS offered, implicit TLS) come from `SmtpSink(...)` as a
context manager; `self_signed_tls()` makes the certificate they need, and `silent_server()` is a
port that accepts connections and never answers, for timeouts.
"""
from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from config import SmtpSettings

SINK_HOSTNAME = "sink.vigil.test"  # given to aiosmtpd so it does not look up this machine's name
REFUSED_DOMAIN = "refused.test"  # recipients here are refused with 550, as by a real server


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    login: str | None  # the user that authenticated, None without AUTH
    tls: bool  # the session was encrypted (STARTTLS or implicit TLS)


class SmtpSink:
    """An SMTP server that accepts mail and keeps it. `credentials=(user, password)` makes it
    require AUTH (offered without TLS, as a relay on the same machine may); `starttls=` a server
    SSLContext offers STARTTLS (`require_starttls` refuses mail before it); `implicit_tls=` a server
    SSLContext makes it an smtps:// server."""

    def __init__(self, *, credentials: tuple[str, str] | None = None, starttls: ssl.SSLContext | None = None,
                 require_starttls: bool = False, implicit_tls: ssl.SSLContext | None = None):
        self.credentials = credentials
        self.implicit_tls = implicit_tls is not None
        self.received: list[Received] = []
        self.failed_logins: list[str] = []  # user names whose login was refused
        self._arrived = threading.Condition()
        smtp_options = {"tls_context": starttls, "require_starttls": require_starttls} if starttls else {}
        if credentials:
            smtp_options.update(authenticator=self._authenticate, auth_require_tls=False)
        self._controller = _FreePortController(_Handler(self), hostname="127.0.0.1", ssl_context=implicit_tls,
                                               server_hostname=SINK_HOSTNAME, **smtp_options)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._controller.port

    def settings(self, **overrides) -> SmtpSettings:
        """SmtpSettings that reach this sink (with its credentials, if it has any)."""
        values = dict(host=self.host, port=self.port, from_address="Vigil <vigil@vigil.test>", timeout=5.0,
                      implicit_tls=self.implicit_tls)
        if self.credentials:
            values.update(user=self.credentials[0], password=self.credentials[1])
        values.update(overrides)
        return SmtpSettings(**values)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """The first `count` messages, waiting up to `timeout` seconds for them to arrive."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"SMTP sink: expected {count} message(s) within {timeout:g} s, got "
                                     f"{len(self.received)}: {[r.message['Subject'] for r in self.received]}")
            return list(self.received[:count])

    def _record(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        if (user, auth_data.password.decode("utf-8", "replace")) == self.credentials:
            return AuthResult(success=True, auth_data=user)
        self.failed_logins.append(user)
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Refusing here rather than with aiosmtpd's auth_required keeps its warning about AUTH
        # without TLS out of the test output; the client sees the same 530.
        if self.sink.credentials and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Lines end in CRLF on the wire; as Python text they end in "\n", like the message sent.
        message = email.message_from_bytes(envelope.content.replace(b"\r\n", b"\n"), policy=email.policy.default)
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.sink._record(Received(mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), message=message,
                                   login=session.auth_data if session.authenticated else None, tls=tls))
        return "250 Message accepted"


class _FreePortController(Controller):
    """aiosmtpd's Controller wants a port number up front; this one lets the system choose a free
    port (no race with other tests) and reads it back before `start()` returns."""

    def __init__(self, handler, **kwargs):
        super().__init__(handler, port=0, **kwargs)

    def _create_server(self):
        async def create():
            server = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=0,
                                                   ssl=self.ssl_context)
            self.port = server.sockets[0].getsockname()[1]
            return server
        return create()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain SMTP sink (no TLS, no login) for one test."""
    with SmtpSink() as sink:
        yield sink


def self_signed_tls(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context that trusts it) for a certificate naming 127.0.0.1, made
    with the openssl command; the test is skipped where openssl is missing."""
    cert, key = folder / "sink.crt", folder / "sink.key"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    except FileNotFoundError:
        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


@contextmanager
def silent_server() -> Iterator[tuple[str, int]]:
    """A port that accepts TCP connections (the kernel's backlog) but never sends a greeting."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()


def closed_port() -> int:
    """A port nothing listens on: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
