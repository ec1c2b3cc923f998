"""Slack messages through the Web API, with the real `slack_sdk` client (DESIGN rule 5).

The only module that imports `slack_sdk`. `api_url` (SLACK_API_URL, e.g. "http://127.0.0.1:8080/api/")
becomes WebClient's `base_url`. The client's built-in retry handlers are switched off: its default
one resends after a connection reset, which can post a page twice; the engine owns retries.

How a Web API call maps to base.py's errors:

| Slack answer                                             | error          |
| -------------------------------------------------------- | -------------- |
| 200 {"ok": true}                                         | (Posted)       |
| 429 / "ratelimited" (Retry-After honoured)               | TemporaryError |
| 5xx but 504; "service_unavailable", "request_timeout"    | TemporaryError |
| 504; "internal_error", "fatal_error" (Slack: "some       | UnknownOutcome (post); TemporaryError |
|   aspect of the operation may have succeeded")           |   for update and open_dm, safe to repeat |
| any other "ok": false: channel_not_found, not_in_channel,| PermanentError with Slack's error code |
|   is_archived, invalid_blocks, invalid_auth, user_not_found… |                |
| connection refused, connect timeout, TLS handshake       | TemporaryError (nothing was sent) |
| read timeout, connection reset after the request         | UnknownOutcome (post); TemporaryError otherwise |
"""
from __future__ import annotations

import http.client
import re
from typing import Callable, Mapping, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import Clock, SignatureVerifier

from incidents.providers.base import (PermanentError, Posted, ProviderError, TemporaryError, UnknownOutcome,
                                      parse_retry_after)

DEFAULT_API_URL = "https://slack.com/api/"
TIMESTAMP_WINDOW = 5 * 60  # seconds; Slack's advice against replayed requests
TEMPORARY_ERRORS = frozenset({"ratelimited", "service_unavailable", "request_timeout"})
UNKNOWN_ERRORS = frozenset({"internal_error", "fatal_error"})

T = TypeVar("T")


class SlackChat:
    """`ChatSender` over the Slack Web API with a bot token (scopes: chat:write, im:write)."""

    def __init__(self, token: str, api_url: str | None = None, timeout: float = 10):
        base_url = (api_url or DEFAULT_API_URL).rstrip("/") + "/"  # urljoin drops a last segment without it
        self._client = WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])

    def post(self, channel: str, text: str, blocks: list) -> Posted:
        """Post to a channel id, or to a user id: Slack then delivers it in the app's DM with them and
        answers with that DM's channel id, which is the one chat.update needs."""
        response = _call(lambda: self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False),
            repeatable=False)
        return Posted(channel=response["channel"], ts=response["ts"])

    def update(self, channel: str, ts: str, text: str, blocks: list) -> Posted:
        response = _call(lambda: self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
                         repeatable=True)
        return Posted(channel=response["channel"], ts=response["ts"])

    def open_dm(self, slack_user_id: str) -> str:
        response = _call(lambda: self._client.conversations_open(users=slack_user_id), repeatable=True)
        return response["channel"]["id"]

    def identity(self) -> dict:
        """Who the token belongs to (auth.test): a start-up check that the token and URL work."""
        response = _call(self._client.auth_test, repeatable=True)
        return {key: response.get(key) for key in ("team_id", "team", "user_id", "user", "bot_id")}


def verify_slack_request(signing_secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Whether `X-Slack-Signature` signs this exact body, with a timestamp within five minutes of
    `now` (either side), so a captured request cannot be replayed later."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    timestamp, signature = lowered.get("x-slack-request-timestamp"), lowered.get("x-slack-signature")
    if not timestamp or not signature:
        return False
    try:
        if abs(now - int(timestamp)) > TIMESTAMP_WINDOW:
            return False
        verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now))
        return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, UnicodeDecodeError):  # a non-numeric timestamp or a body that is not UTF-8
        return False


class _FixedClock(Clock):
    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def _call(fn: Callable[[], T], *, repeatable: bool) -> T:
    """Run one Web API call, mapping every failure to a base.py error (see the module table)."""
    try:
        return fn()
    except SlackApiError as exc:
        raise _settle(_api_error(exc), repeatable) from exc
    except URLError as exc:  # urllib wraps failures up to writing the request: it never left
        raise TemporaryError(f"Slack unreachable: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:  # read timeout, reset: Slack may have it
        raise _settle(UnknownOutcome(f"Slack may have the message: {exc!r}"), repeatable) from exc
    except SlackClientError as exc:  # e.g. a malformed SLACK_API_URL: retrying cannot help
        raise PermanentError(f"Slack client: {exc}") from exc


def _settle(error: ProviderError, repeatable: bool) -> ProviderError:
    """A call that is safe to repeat has no "unknown" outcome: repeating it is the answer."""
    if isinstance(error, UnknownOutcome) and repeatable:
        return TemporaryError(error.message, code=error.code)
    return error


def _api_error(exc: SlackApiError) -> ProviderError:
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = data.get("error")  # slack_sdk puts a whole sentence here when the body is not JSON
    code = error if isinstance(error, str) and re.fullmatch(r"[a-z_]+", error) else f"http_{status}"
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    message = f"Slack {status}: {code}"
    if status == 429 or code in TEMPORARY_ERRORS:
        return TemporaryError(message, code=code, retry_after=parse_retry_after(_first(headers.get("retry-after"))))
    if status == 504 or code in UNKNOWN_ERRORS:
        return UnknownOutcome(message, code=code)
    if status >= 500:
        return TemporaryError(message, code=code)
    return PermanentError(message, code=code)


def _first(value):
    return value[0] if isinstance(value, list) and value else value
