"""What the paging engine needs from an SMS or chat provider, and the three ways a call can fail.

The engine decides what to do next from the error class alone (DESIGN rule 3):

| error            | meaning                                     | the engine                         |
| ---------------- | ------------------------------------------- | ---------------------------------- |
| TemporaryError   | the provider certainly did not act; later   | retry with backoff (`retry_after`  |
|                  | may work                                    | seconds when the provider said so) |
| PermanentError   | the provider refused; retrying cannot help  | fail the page, try the next channel|
| UnknownOutcome   | the request may have reached the provider   | mark the page unknown, never resend|

Which provider answers map to which class is documented, and tested, in each adapter:
`twilio_sms.py` and `slack_chat.py`. Only calls that are safe to repeat (a Slack `chat.update`,
`conversations.open`) turn an unknown outcome into a TemporaryError.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol, runtime_checkable

from incidents import clock

MAX_RETRY_AFTER = 3600.0  # a provider asking for more than an hour is treated as an hour


class ProviderError(Exception):
    """A provider call failed; `code` is the provider's own code (21610, "channel_not_found")."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class TemporaryError(ProviderError):
    """Nothing was done; try again, after `retry_after` seconds when the provider named a time."""

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentError(ProviderError):
    """The provider refused this request; the same request will be refused again."""


class UnknownOutcome(ProviderError):
    """The request may have reached the provider: resending could page someone twice."""


@dataclass(frozen=True)
class Sent:
    provider_id: str  # Twilio's Message SID, the key of later status callbacks
    status: str  # the provider's status at acceptance, e.g. "queued"


@dataclass(frozen=True)
class Posted:
    channel: str  # the channel id Slack reports (a DM's "D…" id when posted to a user id)
    ts: str  # the message's timestamp, its id for chat.update


@runtime_checkable
class SmsSender(Protocol):
    def send(self, to: str, body: str, *, status_callback: str | None = None) -> Sent:
        """Send one SMS to an E.164 number; the provider POSTs delivery status to `status_callback`."""
        ...


@runtime_checkable
class ChatSender(Protocol):
    def post(self, channel: str, text: str, blocks: list) -> Posted:
        """Post to a channel id, or to a user id (a DM from the app); `text` is the notification."""
        ...

    def update(self, channel: str, ts: str, text: str, blocks: list) -> Posted:
        """Replace a posted message; `channel` must be the id returned in `Posted`."""
        ...

    def open_dm(self, slack_user_id: str) -> str:
        """The id of the app's direct-message channel with a user."""
        ...


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or clock.now())).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
