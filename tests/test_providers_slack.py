"""SlackChat: the real `slack_sdk` client against the fake Slack Web API; errors mapped for the
engine; request signatures checked against values computed independently of slack_sdk."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest

from incidents.domain.page_text import Stamp, slack_page_blocks
from incidents.providers.base import ChatSender, PermanentError, Posted, TemporaryError, UnknownOutcome
from incidents.providers.slack_chat import SlackChat, verify_slack_request
from tests.fakes.fixtures import fake_slack  # noqa: F401
from tests.fakes.http import FakeServer, Reply
from tests.fakes.slack_server import FakeSlack

PAGE = dict(incident_id=42, number=142, severity_class=1, title="Checkout down", customer="acme", due="10:30")


@pytest.fixture
def chat(fake_slack):  # noqa: F811
    return SlackChat(fake_slack.token, api_url=fake_slack.url, timeout=0.5)


def page(status="triggered", **changes):
    return slack_page_blocks(**{**PAGE, "status": status, **changes})


def test_a_page_reaches_the_channel_with_exactly_its_text_and_blocks(chat, fake_slack):  # noqa: F811
    text, blocks = page()
    posted = chat.post("C0OPS", text, blocks)

    [request] = fake_slack.requests
    assert (request.method, request.path, request.bearer) == ("POST", "/api/chat.postMessage", fake_slack.token)
    assert request.json == {"channel": "C0OPS", "text": text, "blocks": blocks,
                            "unfurl_links": False, "unfurl_media": False}
    assert posted == Posted("C0OPS", fake_slack.posts[0].ts)
    assert isinstance(chat, ChatSender)


def test_a_page_to_a_user_id_lands_in_their_dm_whose_id_comes_back(chat, fake_slack):  # noqa: F811
    posted = chat.post("U0ANA", *page())
    assert posted.channel == "D0ANA"
    assert fake_slack.in_channel("D0ANA")[0].ts == posted.ts


def test_an_update_replaces_the_message_and_drops_the_acknowledge_button(chat, fake_slack):  # noqa: F811
    posted = chat.post("C0OPS", *page())
    text, blocks = page("acknowledged", acknowledged=Stamp("Ana", "10:12"))
    assert chat.update(posted.channel, posted.ts, text, blocks) == posted

    request = fake_slack.requests[-1]
    assert request.path == "/api/chat.update"
    assert request.json == {"channel": "C0OPS", "ts": posted.ts, "text": text, "blocks": blocks}
    message = fake_slack.messages[(posted.channel, posted.ts)]
    assert [m.action_ids() for m in fake_slack.posts] == [["resolve", "escalate"]]
    assert len(message.history) == 1 and "Acknowledged by *Ana* at 10:12" in json.dumps(message.blocks)


def test_open_dm_returns_the_dm_channel(chat, fake_slack):  # noqa: F811
    assert chat.open_dm("U0ANA") == "D0ANA"
    [request] = fake_slack.requests
    assert (request.path, request.form) == ("/api/conversations.open", {"users": "U0ANA"})


def test_identity_names_the_bot(chat, fake_slack):  # noqa: F811
    assert chat.identity()["user_id"] == "U0VIGILBOT"


def test_rate_limited_is_temporary_and_carries_retry_after(chat, fake_slack):  # noqa: F811
    fake_slack.fail_next(429, retry_after=3)
    with pytest.raises(TemporaryError) as raised:
        chat.post("C0OPS", *page())
    assert (raised.value.code, raised.value.retry_after) == ("ratelimited", 3)
    assert fake_slack.posts == []


def test_slacks_one_message_per_second_per_channel_comes_back_as_retry_after():
    fake = FakeSlack(channel_interval=2).start()
    try:
        chat = SlackChat(fake.token, api_url=fake.url, timeout=1)
        chat.post("C0OPS", *page())
        chat.post("C0OTHER", *page())  # another channel has its own allowance
        with pytest.raises(TemporaryError) as raised:
            chat.post("C0OPS", *page())
    finally:
        fake.stop()
    assert raised.value.retry_after == 2
    assert [m.channel for m in fake.posts] == ["C0OPS", "C0OTHER"] and fake.rate_limited == 1
    fake.assert_clean()


@pytest.mark.parametrize("status, body, code", [
    (500, None, "http_500"), (503, {"ok": False, "error": "service_unavailable"}, "service_unavailable"),
    (200, {"ok": False, "error": "request_timeout"}, "request_timeout"),
])
def test_server_trouble_is_temporary(chat, fake_slack, status, body, code):  # noqa: F811
    fake_slack.fail_next(status, body)
    with pytest.raises(TemporaryError) as raised:
        chat.post("C0OPS", *page())
    assert raised.value.code == code
    assert fake_slack.posts == []


@pytest.mark.parametrize("status, body", [(504, None), (200, {"ok": False, "error": "internal_error"}),
                                          (200, {"ok": False, "error": "fatal_error"})])
def test_a_post_slack_may_have_done_is_unknown_but_an_update_is_retried(chat, fake_slack, status, body):  # noqa: F811
    fake_slack.fail_next(status, body, times=2)
    with pytest.raises(UnknownOutcome):
        chat.post("C0OPS", *page())
    with pytest.raises(TemporaryError):
        chat.update("C0OPS", "1.000001", *page())


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived", "missing_scope"])
def test_a_refusal_is_permanent_with_slacks_error_code(chat, fake_slack, error):  # noqa: F811
    fake_slack.fail_next(200, {"ok": False, "error": error})
    with pytest.raises(PermanentError) as raised:
        chat.post("C0OPS", *page())
    assert raised.value.code == error


def test_an_unknown_channel_user_or_message_is_permanent(chat, fake_slack):  # noqa: F811
    fake_slack.missing |= {"C0GONE", "U0GONE"}
    failures = []
    for call in (lambda: chat.post("C0GONE", *page()), lambda: chat.open_dm("U0GONE"),
                 lambda: chat.update("C0OPS", "1.000001", *page())):
        with pytest.raises(PermanentError) as raised:
            call()
        failures.append(raised.value.code)
    assert failures == ["channel_not_found", "user_not_found", "channel_not_found"]
    posted = chat.post("C0OPS", *page())
    with pytest.raises(PermanentError, match="message_not_found"):
        chat.update(posted.channel, "1.999999", *page())


def test_a_wrong_token_is_permanent_and_the_fake_notices(fake_slack):  # noqa: F811
    chat = SlackChat("xoxb-wrong", api_url=fake_slack.url)
    with pytest.raises(PermanentError) as raised:
        chat.post("C0OPS", *page())
    assert raised.value.code == "invalid_auth"
    assert fake_slack.take_errors() == ["POST /api/chat.postMessage: invalid_auth"]


def test_blocks_slack_would_refuse_are_permanent_and_fail_the_test(chat, fake_slack):  # noqa: F811
    text, blocks = page()
    blocks[0]["text"]["text"] = "AT&T <!channel>"  # what forgetting to escape user text looks like
    with pytest.raises(PermanentError) as raised:
        chat.post("C0OPS", text, blocks)
    assert raised.value.code == "invalid_blocks"
    errors = [e.split(": ", 2)[-1][:22] for e in fake_slack.take_errors()]
    assert errors == ["unescaped '&' in 'AT&T", "broadcast mention in '"]


def test_a_timeout_after_posting_is_unknown_and_slack_has_the_message(chat, fake_slack):  # noqa: F811
    fake_slack.hang_next()
    started = time.monotonic()
    with pytest.raises(UnknownOutcome):
        chat.post("C0OPS", *page())
    assert time.monotonic() - started < 5
    assert len(fake_slack.posts) == 1  # why resending would post twice


def test_a_connection_reset_after_posting_is_unknown_and_not_resent_by_the_client(chat, fake_slack):  # noqa: F811
    fake_slack.drop_next()
    with pytest.raises(UnknownOutcome):
        chat.post("C0OPS", *page())
    assert len(fake_slack.requests) == 1 and len(fake_slack.posts) == 1  # slack_sdk's own retry is off


def test_a_timeout_on_update_is_temporary(chat, fake_slack):  # noqa: F811
    posted = chat.post("C0OPS", *page())
    fake_slack.hang_next()
    with pytest.raises(TemporaryError):
        chat.update(posted.channel, posted.ts, *page("resolved", resolved=Stamp("Ana", "10:40")))


def test_a_refused_connection_is_temporary(chat, fake_slack):  # noqa: F811
    fake_slack.stop()
    with pytest.raises(TemporaryError):
        chat.post("C0OPS", *page())
    fake_slack.start()
    assert chat.post("C0OPS", *page()).channel == "C0OPS"


def test_an_api_url_without_the_trailing_slash_still_reaches_api_methods(fake_slack):  # noqa: F811
    SlackChat(fake_slack.token, api_url=fake_slack.url.rstrip("/")).post("C0OPS", *page())
    assert fake_slack.requests[0].path == "/api/chat.postMessage"


# --- request signatures -------------------------------------------------------------------------

def test_slacks_published_example_signature_verifies():
    """The example in Slack's "Verifying requests from Slack" documentation."""
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
            b"%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    headers = {"X-Slack-Request-Timestamp": "1531420618",
               "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}
    assert verify_slack_request("8f742231b10e8888abcd99yyyzzz85a5", headers, body, now=1531420618 + 60)
    assert not verify_slack_request("8f742231b10e8888abcd99yyyzzz85a6", headers, body, now=1531420618 + 60)


NOW = 1_800_000_000
BODY = b'payload=%7B%22type%22%3A%22block_actions%22%7D'


def signed(fake, *, at=NOW, body=BODY, secret=None):
    return {"X-Slack-Request-Timestamp": str(at), "X-Slack-Signature": fake.sign(body, at, secret=secret)}


@pytest.mark.parametrize("at", [NOW, NOW - 300, NOW + 300])
def test_a_signed_request_within_five_minutes_verifies(at):
    fake = FakeSlack()
    assert verify_slack_request(fake.signing_secret, signed(fake, at=at), BODY, now=NOW)
    assert verify_slack_request(fake.signing_secret, {k.lower(): v for k, v in signed(fake, at=at).items()}, BODY,
                                now=NOW)


@pytest.mark.parametrize("headers, body", [
    (lambda f: signed(f, at=NOW - 301), BODY),  # stale: a replay
    (lambda f: signed(f, at=NOW + 301), BODY),  # from the future
    (lambda f: signed(f, secret="forged-secret"), BODY),
    (lambda f: signed(f), BODY + b"x"),  # tampered body
    (lambda f: {"X-Slack-Request-Timestamp": str(NOW)}, BODY),
    (lambda f: {"X-Slack-Signature": signed(f)["X-Slack-Signature"]}, BODY),
    (lambda f: {**signed(f), "X-Slack-Request-Timestamp": "soon"}, BODY),
    (lambda f: signed(f, body=b"\xff\xfe"), b"\xff\xfe"),  # not UTF-8
    (lambda f: {}, b""),
])
def test_a_forged_stale_or_malformed_request_fails_verification(headers, body):
    fake = FakeSlack()
    assert not verify_slack_request(fake.signing_secret, headers(fake), body, now=NOW)


class _Receiver(FakeServer):
    """Stands in for Vigil's interactivity endpoint."""

    def route(self, request):
        return Reply(200, "")


def test_the_fakes_button_click_is_signed_and_shaped_as_slack_sends_it(chat, fake_slack):  # noqa: F811
    posted = chat.post("U0ANA", *page())
    vigil = _Receiver().start()
    try:
        fake_slack.click(vigil.origin + "/webhooks/slack/actions", fake_slack.posts[0], "ack", user_id="U0ANA")
    finally:
        vigil.stop()
    [request] = vigil.requests
    assert verify_slack_request(fake_slack.signing_secret, request.headers, request.body, now=time.time())
    payload = json.loads(parse_qs(request.body.decode())["payload"][0])
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0ANA"
    assert payload["container"] == {"type": "message", "message_ts": posted.ts, "channel_id": "D0ANA",
                                    "is_ephemeral": False}
    assert [(a["action_id"], a["value"]) for a in payload["actions"]] == [("ack", "42")]
    assert payload["response_url"].startswith(fake_slack.origin + "/responses/")
    vigil.assert_clean()


def test_the_fake_refuses_to_press_a_button_the_message_no_longer_shows(chat, fake_slack):  # noqa: F811
    posted = chat.post("C0OPS", *page())
    chat.update(posted.channel, posted.ts, *page("resolved", resolved=Stamp("Ana", "10:40")))
    with pytest.raises(AssertionError, match="no 'ack' button"):
        fake_slack.click("http://127.0.0.1:9/unused", fake_slack.posts[0], "ack", user_id="U0ANA")
