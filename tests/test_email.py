"""E-mail through the real smtplib client to an aiosmtpd sink: what arrives, how login and TLS
work, and that every failure is a MailError that names the step and never shows the password."""
import time

import pytest

import config
from incidents.providers.email import Mail, MailError, SmtpMailer, mailer_from
from tests.fakes.smtp import SmtpSink, closed_port, self_signed_tls, silent_server
from tests.fakes.smtp import smtp_sink  # noqa: F401

PASSWORD = "pa55-w0rd-never-shown"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(server SSLContext, client SSLContext trusting it): one certificate for the module."""
    return self_signed_tls(tmp_path_factory.mktemp("tls"))


def test_a_message_arrives_with_subject_body_sender_and_recipients(smtp_sink, clock):
    message_id = SmtpMailer(smtp_sink.settings()).send(Mail(
        to=("ops@example.com", "lead@example.com"), subject="You are invited to Vigil",
        text="Open the link to choose a password.\n"))

    [received] = smtp_sink.wait_for(1)
    assert received.mail_from == "vigil@vigil.test"
    assert received.rcpt_tos == ("ops@example.com", "lead@example.com")
    msg = received.message
    assert msg["From"] == "Vigil <vigil@vigil.test>"
    assert msg["To"] == "ops@example.com, lead@example.com"
    assert msg["Subject"] == "You are invited to Vigil"
    assert msg["Message-ID"] == message_id and message_id.endswith("@vigil.test>")
    assert msg["Date"] == "Mon, 23 Nov 2026 08:30:00 +0000"  # from the clock, not the wall
    assert msg.get_content() == "Open the link to choose a password.\n"
    assert received.login is None and received.tls is False


def test_html_alternative_and_attachments_arrive_intact(smtp_sink):
    pdf = bytes(range(256)) * 4
    SmtpMailer(smtp_sink.settings()).send(Mail(
        to="customer@example.com", subject="Monthly report — Café ünicode", text="Plain text.",
        html="<p>Rich <b>text</b>.</p>",
        attachments=(("report.pdf", "application/pdf", pdf), ("incidents.csv", "text/csv", b"id,title\n1,x\n"))))

    msg = smtp_sink.wait_for(1)[0].message
    assert msg["Subject"] == "Monthly report — Café ünicode"
    assert msg.get_body(("plain",)).get_content() == "Plain text.\n"
    assert msg.get_body(("html",)).get_content() == "<p>Rich <b>text</b>.</p>\n"
    files = {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
             for part in msg.iter_attachments()}
    assert files == {"report.pdf": ("application/pdf", pdf), "incidents.csv": ("text/csv", b"id,title\n1,x\n")}


def test_login_with_the_configured_credentials():
    with SmtpSink(credentials=("vigil", PASSWORD)) as sink:
        SmtpMailer(sink.settings()).send(Mail(to="a@example.com", subject="Reset your password", text="Link."))
        assert sink.wait_for(1)[0].login == "vigil"


def test_a_refused_login_is_a_mail_error_without_the_password():
    with SmtpSink(credentials=("vigil", PASSWORD)) as sink:
        with pytest.raises(MailError) as caught:
            SmtpMailer(sink.settings(password="wrong-" + PASSWORD)).send(
                Mail(to="a@example.com", subject="s", text="t"))
        assert set(sink.failed_logins) == {"vigil"} and sink.received == []  # smtplib tries PLAIN, then LOGIN
    error = str(caught.value)
    assert error.startswith(f"SMTP 127.0.0.1:{sink.port}: login: the server refused the login as 'vigil' (535")
    assert caught.value.code == "535" and PASSWORD not in error


def test_a_server_that_requires_login_refuses_anonymous_mail():
    with SmtpSink(credentials=("vigil", PASSWORD)) as sink:
        with pytest.raises(MailError, match=r": send: the server answered 530 .*Authentication required"):
            SmtpMailer(sink.settings(user=None, password=None)).send(Mail(to="a@example.com", subject="s", text="t"))


def test_starttls_not_asked_for_is_not_used_and_not_needed(tls):
    server_tls, _ = tls
    with SmtpSink(starttls=server_tls) as sink:  # offers STARTTLS, does not insist
        SmtpMailer(sink.settings()).send(Mail(to="a@example.com", subject="plain", text="t"))
        assert sink.wait_for(1)[0].tls is False


def test_starttls_then_login(tls):
    server_tls, client_tls = tls
    with SmtpSink(starttls=server_tls, require_starttls=True, credentials=("vigil", PASSWORD)) as sink:
        SmtpMailer(sink.settings(starttls=True), ssl_context=client_tls).send(
            Mail(to="a@example.com", subject="over TLS", text="t"))
        received = sink.wait_for(1)[0]
        assert received.tls is True and received.login == "vigil"


def test_starttls_against_an_untrusted_certificate_fails_before_login(tls):
    server_tls, _ = tls
    with SmtpSink(starttls=server_tls, credentials=("vigil", PASSWORD)) as sink:
        with pytest.raises(MailError, match=r": starttls: TLS certificate not trusted \(self.signed certificate"):
            SmtpMailer(sink.settings(starttls=True)).send(Mail(to="a@example.com", subject="s", text="t"))
        assert sink.failed_logins == [] and sink.received == []


def test_starttls_asked_for_but_not_offered_is_a_mail_error(smtp_sink):
    with pytest.raises(MailError, match=r": starttls: the server does not support it"):
        SmtpMailer(smtp_sink.settings(starttls=True)).send(Mail(to="a@example.com", subject="s", text="t"))


def test_implicit_tls(tls):
    server_tls, client_tls = tls
    with SmtpSink(implicit_tls=server_tls) as sink:
        SmtpMailer(sink.settings(), ssl_context=client_tls).send(Mail(to="a@example.com", subject="smtps", text="t"))
        assert sink.wait_for(1)[0].tls is True


def test_connection_refused_is_a_clear_mail_error_without_the_password():
    port = closed_port()
    mailer = SmtpMailer(config.SmtpSettings(host="127.0.0.1", port=port, from_address="vigil@vigil.test",
                                            user="vigil", password=PASSWORD))
    with pytest.raises(MailError) as caught:
        mailer.send(Mail(to="a@example.com", subject="s", text="t"))
    assert str(caught.value) == f"SMTP 127.0.0.1:{port}: connect: connection refused"
    assert caught.value.code is None
    assert PASSWORD not in repr(mailer.settings)


def test_the_timeout_is_honoured_when_the_server_never_answers():
    with silent_server() as (host, port):
        mailer = SmtpMailer(config.SmtpSettings(host=host, port=port, from_address="vigil@vigil.test", timeout=0.5))
        start = time.monotonic()
        with pytest.raises(MailError, match=r"^SMTP 127\.0\.0\.1:\d+: connect: no answer within 0\.5 s$"):
            mailer.send(Mail(to="a@example.com", subject="s", text="t"))
        assert 0.4 < time.monotonic() - start < 3


@pytest.mark.parametrize("mail, message", [
    (Mail(to="a@example.com", subject="two\nlines", text="t"), "bad message: "),
    (Mail(to=(), subject="s", text="t"), "bad message: no recipients"),
    (Mail(to="a@example.com", subject="s", text="t", attachments=(("x", "pdf", b""),)),
     "bad message: attachment 'x': expected a type like text/csv, got 'pdf'"),
])
def test_a_malformed_message_is_refused_before_connecting(mail, message):
    mailer = SmtpMailer(config.SmtpSettings(host="127.0.0.1", port=closed_port(), from_address="vigil@vigil.test"))
    with pytest.raises(MailError, match="^" + message):
        mailer.send(mail)


def test_a_refused_recipient_is_named(smtp_sink):
    with pytest.raises(MailError, match=r": send: recipient refused: nobody@refused.test \(550 ") as caught:
        SmtpMailer(smtp_sink.settings()).send(Mail(to="nobody@refused.test", subject="s", text="t"))
    assert caught.value.code == "550" and smtp_sink.received == []


def test_a_partly_refused_message_says_the_others_have_it(smtp_sink):
    with pytest.raises(MailError, match=r"nobody@refused.test \(550 .*; the other recipients accepted the message"):
        SmtpMailer(smtp_sink.settings()).send(Mail(to=("ops@example.com", "nobody@refused.test"), subject="s", text="t"))
    assert smtp_sink.wait_for(1)[0].rcpt_tos == ("ops@example.com",)


def test_mailer_from_config(tmp_path):
    base = {"VIGIL_INSTANCE_PATH": str(tmp_path)}
    assert mailer_from(config.load(base)) is None
    mailer = mailer_from(config.load({**base, "SMTP_URL": "smtp://127.0.0.1:2525"}))
    assert isinstance(mailer, SmtpMailer) and mailer.settings.port == 2525


def test_the_app_holds_the_mailer(app):
    assert app.extensions["vigil.mailer"] is None  # the test configuration has no SMTP_URL
