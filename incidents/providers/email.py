"""E-mail over SMTP with the standard library's client (DESIGN rule 5).

The only module that imports `smtplib`. Settings come from SMTP_URL (config.SmtpSettings); tests
point it at the aiosmtpd sink in tests/fakes/smtp.py, so the real client is exercised.

One connection per message, each socket operation bounded by the configured timeout: mail is
rare (invitations, password resets, reports), and a fresh connection cannot be a stale one.

Every failure is a MailError whose message names the server and the step that failed
("SMTP mail.example.com:587: login: ...") and never contains the password; `code` is the SMTP
reply code when the server answered ("550"), None when the connection itself failed. Once the
server has accepted the message, a failure to say goodbye is ignored: the mail is on its way.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import config as settings
from incidents import clock
from incidents.providers.base import ProviderError


@dataclass(frozen=True)
class Mail:
    """One message: plain text always, HTML as an alternative when given."""

    to: str | tuple[str, ...]  # one address, or several
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (filename, "application/pdf", data)

    @property
    def recipients(self) -> tuple[str, ...]:
        return (self.to,) if isinstance(self.to, str) else tuple(self.to)


class MailError(ProviderError):
    """The message was not sent; `code` is the server's reply code when it gave one."""


class SmtpMailer:
    """Sends `Mail` through one SMTP server; safe to share between threads (no shared connection)."""

    def __init__(self, smtp: settings.SmtpSettings, *, ssl_context: ssl.SSLContext | None = None):
        self.settings = smtp
        # The system's trusted CAs unless a test passes a context that trusts its own certificate.
        self._ssl_context = ssl_context or ssl.create_default_context()

    def send(self, message: Mail) -> str:
        """Send `message`; returns its Message-ID header (with the angle brackets)."""
        msg = self.compose(message)
        envelope_from = parseaddr(self.settings.from_address)[1]
        step = "connect"
        try:
            client = self._connect()
            try:
                if self.settings.starttls:
                    step = "starttls"
                    client.starttls(context=self._ssl_context)
                if self.settings.user:
                    step = "login"
                    client.login(self.settings.user, self.settings.password or "")
                step = "send"
                refused = client.send_message(msg, from_addr=envelope_from, to_addrs=list(message.recipients))
            finally:
                _close(client)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(step, exc) from exc
        if refused:  # some recipients accepted it, so resending would mail them twice
            raise self._error("send", smtplib.SMTPRecipientsRefused(refused), accepted_by_others=True)
        return msg["Message-ID"]

    def check(self) -> None:
        """Connect, greet (EHLO), upgrade and log in as a send would, then quit: no mail is sent."""
        step = "connect"
        try:
            client = self._connect()
            try:
                step = "ehlo"
                client.ehlo()
                if self.settings.starttls:
                    step = "starttls"
                    client.starttls(context=self._ssl_context)
                if self.settings.user:
                    step = "login"
                    client.login(self.settings.user, self.settings.password or "")
            finally:
                _close(client)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._error(step, exc) from exc

    def compose(self, message: Mail) -> EmailMessage:
        """The message as it goes on the wire, with From, Date and a Message-ID."""
        msg = EmailMessage()
        try:
            msg["From"] = self.settings.from_address
            msg["To"] = ", ".join(message.recipients)
            msg["Subject"] = message.subject
            msg["Date"] = format_datetime(clock.now())
            msg["Message-ID"] = make_msgid(domain=_domain(self.settings.from_address))
            msg.set_content(message.text)
            if message.html is not None:
                msg.add_alternative(message.html, subtype="html")
            for filename, mimetype, data in message.attachments:
                maintype, _, subtype = mimetype.partition("/")
                if not maintype or not subtype:
                    raise ValueError(f"attachment {filename!r}: expected a type like text/csv, got {mimetype!r}")
                msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        except (ValueError, TypeError) as exc:  # a header with a line break, a bad attachment
            raise MailError(f"bad message: {exc}") from exc
        if not message.recipients:
            raise MailError("bad message: no recipients")
        return msg

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.implicit_tls:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._ssl_context)
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout)

    def _error(self, step: str, exc: Exception, *, accepted_by_others: bool = False) -> MailError:
        code, detail = _describe(exc, self.settings)
        if accepted_by_others:
            detail += "; the other recipients accepted the message"
        message = f"SMTP {self.settings.host}:{self.settings.port}: {step}: {detail}"
        if self.settings.password:  # the server's own words could in theory echo it
            message = message.replace(self.settings.password, "***")
        return MailError(message, code=code)


def mailer_from(config: settings.Config) -> SmtpMailer | None:
    """The mailer for SMTP_URL, or None when e-mail is not configured."""
    return SmtpMailer(config.smtp) if config.smtp else None


def _describe(exc: Exception, s: settings.SmtpSettings) -> tuple[str | None, str]:
    """(reply code, what went wrong in words) for a smtplib or socket failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{addr} ({code} {_text(resp)})" for addr, (code, resp) in exc.recipients.items())
        first = next(iter(exc.recipients.values()), (None, b""))[0]
        return (str(first) if first else None), f"recipient refused: {refused}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return str(exc.smtp_code), f"the server refused the login as {s.user!r} ({exc.smtp_code} {_text(exc.smtp_error)})"
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, bad greeting...
        return str(exc.smtp_code), f"the server answered {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return None, f"the server does not support it ({exc})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib turns a read timeout into this
            return None, f"no answer within {s.timeout:g} s"
        return None, "the server closed the connection"
    if isinstance(exc, ConnectionRefusedError):
        return None, "connection refused"
    if isinstance(exc, TimeoutError):
        return None, f"no answer within {s.timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return None, f"cannot resolve the host ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return None, f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return None, f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError):
        return None, exc.strerror or exc.__class__.__name__
    return None, str(exc) or exc.__class__.__name__


def _close(client: smtplib.SMTP) -> None:
    """Say QUIT if the server still listens; the outcome of the send is already known."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _domain(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"
