"""TwilioSms: the real `twilio` client against the fake Twilio API; errors mapped for the engine;
webhook signatures checked against values computed independently of the twilio package."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.datastructures import MultiDict

from incidents.providers.base import PermanentError, Sent, SmsSender, TemporaryError, UnknownOutcome
from incidents.providers.twilio_sms import TwilioSms, verify_signature
from tests.fakes.fixtures import fake_twilio  # noqa: F401
from tests.fakes.http import FakeServer, Reply
from tests.fakes.twilio_server import FROM_NUMBER

TO = "+15551234567"
CALLBACK = "http://vigil.test/webhooks/twilio/status"


@pytest.fixture
def sms(fake_twilio):  # noqa: F811
    return TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER,
                     api_url=fake_twilio.url, timeout=0.5)


def test_an_sms_reaches_twilio_with_exactly_to_from_body_and_callback(sms, fake_twilio):  # noqa: F811
    sent = sms.send(TO, "Vigil #142 C1 acme: Checkout down", status_callback=CALLBACK)

    [request] = fake_twilio.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json")
    assert request.basic_auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.form == {"To": TO, "From": FROM_NUMBER, "Body": "Vigil #142 C1 acme: Checkout down",
                            "StatusCallback": CALLBACK}
    assert sent == Sent(provider_id=fake_twilio.messages[0].sid, status="queued")
    assert isinstance(sms, SmsSender)


def test_no_status_callback_parameter_when_none_is_given(sms, fake_twilio):  # noqa: F811
    sms.send(TO, "hello")
    assert fake_twilio.requests[0].form == {"To": TO, "From": FROM_NUMBER, "Body": "hello"}


def test_non_gsm_text_arrives_unchanged(sms, fake_twilio):  # noqa: F811
    sms.send(TO, "Сбой оплаты 🔥 € ^")
    assert fake_twilio.bodies_to(TO) == ["Сбой оплаты 🔥 € ^"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_temporary_and_no_message_exists(sms, fake_twilio, status):  # noqa: F811
    fake_twilio.fail_next(status)
    with pytest.raises(TemporaryError) as raised:
        sms.send(TO, "hello")
    assert raised.value.retry_after is None
    assert fake_twilio.messages == []


def test_a_gateway_timeout_may_have_reached_twilio(sms, fake_twilio):  # noqa: F811
    fake_twilio.fail_next(504)
    with pytest.raises(UnknownOutcome):
        sms.send(TO, "hello")


def test_too_many_requests_is_temporary_and_carries_retry_after(sms, fake_twilio):  # noqa: F811
    fake_twilio.fail_next(429, retry_after=7)
    with pytest.raises(TemporaryError) as raised:
        sms.send(TO, "hello")
    assert raised.value.retry_after == 7
    assert raised.value.code == "20429"


def test_a_retry_after_date_becomes_seconds(sms, fake_twilio):  # noqa: F811
    fake_twilio.fail_next(429, retry_after=time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60)))
    with pytest.raises(TemporaryError) as raised:
        sms.send(TO, "hello")
    assert 55 <= raised.value.retry_after <= 61


def test_a_full_queue_on_the_from_number_is_temporary(sms, fake_twilio):  # noqa: F811
    fake_twilio.fail_next(400, {"code": 21611, "message": "This 'From' number has exceeded the maximum number of "
                                "queued messages", "status": 400})
    with pytest.raises(TemporaryError) as raised:
        sms.send(TO, "hello")
    assert raised.value.code == "21611"


@pytest.mark.parametrize("to, code", [("0155512", "21211"), ("+1555", "21211"), ("", "21604")])
def test_an_invalid_number_is_permanent_with_twilios_code(sms, fake_twilio, to, code):  # noqa: F811
    with pytest.raises(PermanentError) as raised:
        sms.send(to, "hello")
    assert raised.value.code == code
    assert fake_twilio.messages == []


def test_an_opted_out_number_is_permanent(sms, fake_twilio):  # noqa: F811
    fake_twilio.opted_out.add(TO)
    with pytest.raises(PermanentError) as raised:
        sms.send(TO, "hello")
    assert raised.value.code == "21610"
    assert "unsubscribed" in raised.value.message


def test_a_from_number_not_on_the_account_is_permanent(fake_twilio):  # noqa: F811
    sms = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, "+15550000000", api_url=fake_twilio.url)
    with pytest.raises(PermanentError) as raised:
        sms.send(TO, "hello")
    assert raised.value.code == "21606"


def test_wrong_credentials_are_permanent_and_the_fake_notices(fake_twilio):  # noqa: F811
    sms = TwilioSms(fake_twilio.account_sid, "not-the-token", FROM_NUMBER, api_url=fake_twilio.url)
    with pytest.raises(PermanentError) as raised:
        sms.send(TO, "hello")
    assert raised.value.code == "20003"
    assert fake_twilio.take_errors() == [f"POST /2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json: "
                                         f"bad credentials '{fake_twilio.account_sid}'"]


def test_a_timeout_after_sending_is_an_unknown_outcome_and_twilio_has_the_message(sms, fake_twilio):  # noqa: F811
    fake_twilio.hang_next()
    started = time.monotonic()
    with pytest.raises(UnknownOutcome):
        sms.send(TO, "hello")
    assert time.monotonic() - started < 5
    assert fake_twilio.bodies_to(TO) == ["hello"]  # why resending would page twice


def test_a_connection_dropped_after_sending_is_an_unknown_outcome(sms, fake_twilio):  # noqa: F811
    fake_twilio.drop_next()
    with pytest.raises(UnknownOutcome):
        sms.send(TO, "hello")
    assert len(fake_twilio.requests) == 1  # the client did not quietly send it again


def test_a_refused_connection_is_temporary_and_sending_works_once_twilio_is_back(sms, fake_twilio):  # noqa: F811
    fake_twilio.stop()
    with pytest.raises(TemporaryError) as raised:
        sms.send(TO, "hello")
    assert raised.value.retry_after is None
    fake_twilio.start()
    assert sms.send(TO, "hello").status == "queued"
    assert fake_twilio.bodies_to(TO) == ["hello"]


def test_one_sender_serves_several_threads_and_keeps_each_threads_retry_after_apart(sms, fake_twilio):  # noqa: F811
    fake_twilio.fail_next(429, retry_after=9)
    numbers = [f"+1555000{i:04d}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda to: _outcome(sms, to), numbers))
    assert outcomes.count(9.0) == 1 and outcomes.count("queued") == 11
    assert len(fake_twilio.messages) == 11


def _outcome(sms, to):
    try:
        return sms.send(to, "page").status
    except TemporaryError as exc:
        return exc.retry_after


def test_an_api_url_with_a_trailing_slash_works(fake_twilio):  # noqa: F811
    sms = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, FROM_NUMBER, api_url=fake_twilio.url + "/")
    sms.send(TO, "hello")
    assert fake_twilio.requests[0].path.startswith("/2010-04-01/")


def test_without_an_api_url_the_client_talks_to_twilio_itself():
    sms = TwilioSms("AC" + "0" * 32, "token", FROM_NUMBER)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC00/Messages.json"
    assert sms._http._rewrite(url) == url


# --- webhook signatures -------------------------------------------------------------------------

def test_twilios_published_example_signature_verifies():
    """The example in Twilio's webhook-security documentation."""
    form = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
            "From": "+14158675309", "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert verify_signature("12345", url, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not verify_signature("12346", url, form, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


URL = "https://vigil.example.com/webhooks/twilio/sms"
FORM = {"From": TO, "To": FROM_NUMBER, "Body": "4ka", "MessageSid": "SM" + "1" * 32}


def test_a_signature_over_url_and_sorted_form_fields_verifies(fake_twilio):  # noqa: F811
    signature = fake_twilio.sign(URL, FORM)
    assert verify_signature(fake_twilio.auth_token, URL, dict(reversed(FORM.items())), signature)
    assert verify_signature(fake_twilio.auth_token, URL, MultiDict(FORM), signature)


@pytest.mark.parametrize("change", [
    {"token": "another-token"}, {"url": URL.replace("/sms", "/status")},
    {"url": "http://vigil.example.com/webhooks/twilio/sms"},
    {"form": {**FORM, "Body": "4kr"}}, {"form": {**FORM, "Extra": "1"}}, {"signature": ""}, {"signature": None},
])
def test_a_forged_or_altered_request_fails_verification(fake_twilio, change):  # noqa: F811
    signature = fake_twilio.sign(URL, FORM)
    assert not verify_signature(change.get("token", fake_twilio.auth_token), change.get("url", URL),
                                change.get("form", FORM), change.get("signature", signature))


class _Receiver(FakeServer):
    """Stands in for Vigil's webhook: accepts any POST."""

    def route(self, request):
        return Reply(200, "<Response/>")


def test_the_fakes_inbound_sms_and_status_callback_are_signed_as_twilio_signs(sms, fake_twilio):  # noqa: F811
    vigil = _Receiver().start()
    try:
        fake_twilio.send_sms(vigil.origin + "/webhooks/twilio/sms", from_=TO, body="4ka")
        sms.send(TO, "page", status_callback=vigil.origin + "/webhooks/twilio/status")
        fake_twilio.send_status(fake_twilio.messages[0], "delivered")
    finally:
        vigil.stop()
    inbound, status = vigil.requests
    for request in (inbound, status):
        url = vigil.origin + request.path
        assert verify_signature(fake_twilio.auth_token, url, request.form, request.headers["x-twilio-signature"])
    assert (inbound.form["From"], inbound.form["Body"]) == (TO, "4ka")
    assert (status.form["MessageSid"], status.form["MessageStatus"]) == (fake_twilio.messages[0].sid, "delivered")
    vigil.assert_clean()
