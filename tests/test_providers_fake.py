"""The in-memory fakes the engine's unit tests inject: they honour the same interfaces and fail
the way the real adapters do when told to."""
from __future__ import annotations

import pytest

from incidents.providers.base import ChatSender, PermanentError, SmsSender, TemporaryError, UnknownOutcome
from incidents.providers.fake import FakeChat, FakeSms


def test_the_fakes_satisfy_the_interfaces():
    assert isinstance(FakeSms(), SmsSender) and isinstance(FakeChat(), ChatSender)


def test_fake_sms_records_sends_and_plays_scripted_failures_in_order():
    sms = FakeSms()
    sms.fail_next(TemporaryError("503", retry_after=2), None, UnknownOutcome("read timeout"))
    with pytest.raises(TemporaryError):
        sms.send("+15551234567", "one")
    first = sms.send("+15551234567", "two", status_callback="http://vigil.test/s")
    with pytest.raises(UnknownOutcome):
        sms.send("+15551234567", "three")
    second = sms.send("+15557654321", "four")
    assert sms.to("+15551234567") == ["two"] and sms.calls == 4
    assert first.provider_id != second.provider_id and sms.sent[0].status_callback == "http://vigil.test/s"


def test_fake_sms_refuses_an_opted_out_number_as_twilio_does():
    sms = FakeSms()
    sms.opted_out.add("+15551234567")
    with pytest.raises(PermanentError) as raised:
        sms.send("+15551234567", "page")
    assert raised.value.code == "21610" and sms.sent == []


def test_fake_chat_posts_to_a_users_dm_and_keeps_the_edit_history():
    chat = FakeChat()
    posted = chat.post("U0ANA", "new", [{"type": "section"}])
    assert posted.channel == "D0ANA" == chat.open_dm("U0ANA")
    chat.update(posted.channel, posted.ts, "acknowledged", [])
    message = chat.messages[(posted.channel, posted.ts)]
    assert (message.text, message.history) == ("acknowledged", [("new", [{"type": "section"}])])
    with pytest.raises(PermanentError) as raised:
        chat.update("D0ANA", "1.0", "x", [])
    assert raised.value.code == "message_not_found"


def test_fake_chat_plays_scripted_failures():
    chat = FakeChat()
    chat.fail_next(TemporaryError("ratelimited", code="ratelimited", retry_after=1))
    with pytest.raises(TemporaryError):
        chat.post("C0OPS", "page", [])
    assert chat.post("C0OPS", "page", []).channel == "C0OPS" and len(chat.posts) == 1
