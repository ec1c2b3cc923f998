"""In-memory SmsSender and ChatSender for unit tests: they record every call and raise the
failures a test scripts, in order, so the engine's retry and fallback paths run without HTTP."""
from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass, field

from incidents.providers.base import PermanentError, Posted, ProviderError, Sent


@dataclass(frozen=True)
class SmsRecord:
    to: str
    body: str
    status_callback: str | None
    provider_id: str


@dataclass
class ChatMessage:
    channel: str
    ts: str
    text: str
    blocks: list
    history: list[tuple[str, list]] = field(default_factory=list)  # earlier (text, blocks), oldest first


class _Script:
    """Failures queued by a test, consumed one per call; `None` in the queue lets one call through."""

    def __init__(self):
        self._queue: deque[ProviderError | None] = deque()
        self._lock = threading.Lock()

    def fail_next(self, *errors: ProviderError | None) -> None:
        with self._lock:
            self._queue.extend(errors)

    def check(self) -> None:
        with self._lock:
            error = self._queue.popleft() if self._queue else None
        if error is not None:
            raise error


class FakeSms:
    """Records `send` calls in `sent`; numbers in `opted_out` are refused as Twilio refuses them."""

    def __init__(self):
        self.sent: list[SmsRecord] = []
        self.opted_out: set[str] = set()
        self.calls = 0  # every send, failed ones included
        self._script = _Script()
        self._ids = itertools.count(1)

    def fail_next(self, *errors: ProviderError | None) -> None:
        self._script.fail_next(*errors)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> Sent:
        self.calls += 1
        self._script.check()
        if to in self.opted_out:
            raise PermanentError("Attempt to send to unsubscribed recipient", code="21610")
        record = SmsRecord(to, body, status_callback, f"SMfake{next(self._ids):026d}")
        self.sent.append(record)
        return Sent(provider_id=record.provider_id, status="queued")

    def to(self, number: str) -> list[str]:
        """The bodies sent to one number, in order."""
        return [record.body for record in self.sent if record.to == number]


class FakeChat:
    """Records posts in `messages` (keyed by (channel, ts)) and keeps each message's edit history."""

    def __init__(self):
        self.messages: dict[tuple[str, str], ChatMessage] = {}
        self.posts: list[ChatMessage] = []
        self.calls = 0
        self._script = _Script()
        self._ts = itertools.count(1)

    def fail_next(self, *errors: ProviderError | None) -> None:
        self._script.fail_next(*errors)

    def post(self, channel: str, text: str, blocks: list) -> Posted:
        self.calls += 1
        self._script.check()
        channel = self._dm_id(channel) if channel.startswith("U") else channel
        message = ChatMessage(channel, f"1700000000.{next(self._ts):06d}", text, list(blocks))
        self.messages[(channel, message.ts)] = message
        self.posts.append(message)
        return Posted(channel=channel, ts=message.ts)

    def update(self, channel: str, ts: str, text: str, blocks: list) -> Posted:
        self.calls += 1
        self._script.check()
        message = self.messages.get((channel, ts))
        if message is None:
            raise PermanentError(f"no message {ts} in {channel}", code="message_not_found")
        message.history.append((message.text, message.blocks))
        message.text, message.blocks = text, list(blocks)
        return Posted(channel=channel, ts=ts)

    def open_dm(self, slack_user_id: str) -> str:
        self.calls += 1
        self._script.check()
        return self._dm_id(slack_user_id)

    @staticmethod
    def _dm_id(user_id: str) -> str:
        return "D" + user_id[1:]
