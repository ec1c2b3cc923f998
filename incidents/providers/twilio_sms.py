"""SMS through Twilio's Programmable Messaging API, with the real `twilio` client (DESIGN rule 5).

The only module that imports `twilio`. `api_url` (TWILIO_API_URL) points the client at another
server, e.g. the fake in tests/fakes: twilio-python has no base-URL setting, and its documented
extension point is a custom HTTP client, so `_ApiUrlHttpClient` rewrites the scheme and host of
every `https://*.twilio.com` URL the library builds and keeps the rest (path, query, auth).

How a Messages.json create maps to base.py's errors:

| Twilio answer                                         | error          |
| ----------------------------------------------------- | -------------- |
| 201 Created                                           | (Sent)         |
| 429, or 400 with 21611 (the From number's queue full) | TemporaryError, Retry-After honoured |
| 500, 502, 503 (and any other 5xx but 504)             | TemporaryError |
| 504 (a gateway gave up waiting; Twilio may have it)   | UnknownOutcome |
| other 4xx: 21211 invalid To, 21610 opted out (STOP),  | PermanentError with Twilio's code |
|   21614 not a mobile, 21606 bad From, 401 bad creds…  |                |
| connection refused, connect timeout, TLS handshake    | TemporaryError (nothing was sent) |
| read timeout, connection dropped after the request    | UnknownOutcome |
"""
from __future__ import annotations

import threading
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from urllib3.exceptions import MaxRetryError

from incidents.providers.base import PermanentError, Sent, TemporaryError, UnknownOutcome, parse_retry_after

# Twilio codes that come with a 4xx but mean "later": the From number's outbound queue is full.
TEMPORARY_CODES = frozenset({21611})


class TwilioSms:
    """`SmsSender` over Twilio; one instance is safe to share between threads."""

    def __init__(self, account_sid: str, auth_token: str, from_number: str, api_url: str | None = None,
                 timeout: float = 10):
        self.from_number = from_number
        self._http = _ApiUrlHttpClient(api_url, timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> Sent:
        try:
            message = self._client.messages.create(
                to=to, from_=self.from_number, body=body, status_callback=status_callback)
        except TwilioRestException as exc:
            raise _rest_error(exc, self._http.last_headers()) from exc
        except requests.RequestException as exc:
            raise _transport_error(exc) from exc
        except TwilioException as exc:  # e.g. a 201 whose body is not JSON: the message may exist
            raise UnknownOutcome(f"Twilio: {exc}") from exc
        return Sent(provider_id=message.sid, status=message.status or "queued")

    def account(self) -> dict:
        """The account the credentials open (GET Accounts/{sid}.json): a check that they and the URL work."""
        try:
            account = self._client.api.v2010.accounts(self._client.username).fetch()
        except TwilioRestException as exc:
            raise _rest_error(exc, self._http.last_headers()) from exc
        except requests.RequestException as exc:
            raise TemporaryError(f"Twilio unreachable: {exc}") from exc
        return {"status": account.status, "friendly_name": account.friendly_name}


def verify_signature(auth_token: str, url: str, form: Mapping, signature: str | None) -> bool:
    """Whether `X-Twilio-Signature` signs `url` (PUBLIC_URL + path + query) and the POSTed form.

    Twilio's scheme: HMAC-SHA1 over the URL followed by every form field name and value, sorted by
    name, keyed by the auth token; `form` may be a plain dict or a multi-dict.
    """
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, form, signature)


def twiml_reply(text: str | None) -> str:
    """The TwiML answer to an inbound SMS: one reply message, or none."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


class _ApiUrlHttpClient(TwilioHttpClient):
    """Sends Twilio's requests to `api_url` instead of *.twilio.com and remembers each thread's last
    response headers, because TwilioRestException drops them (Retry-After is needed)."""

    def __init__(self, api_url: str | None, *, timeout: float):
        super().__init__(timeout=timeout)
        self._base = urlsplit(api_url.rstrip("/")) if api_url else None
        self._local = threading.local()

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self._local.headers = {}
        response = super().request(method, self._rewrite(url), params=params, data=data, headers=headers,
                                   auth=auth, timeout=timeout, allow_redirects=allow_redirects)
        self._local.headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        return response

    def last_headers(self) -> dict[str, str]:
        return getattr(self._local, "headers", {})

    def _rewrite(self, url: str) -> str:
        if self._base is None:
            return url
        parts = urlsplit(url)
        if not (parts.hostname or "").endswith("twilio.com"):
            return url
        return urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path,
                           parts.query, parts.fragment))


def _rest_error(exc: TwilioRestException, headers: Mapping[str, str]) -> Exception:
    code = str(exc.code) if exc.code is not None else None
    message = f"Twilio {exc.status}" + (f" (error {code})" if code else "") + f": {exc.msg}"
    if exc.status == 429 or exc.code in TEMPORARY_CODES:
        return TemporaryError(message, code=code, retry_after=parse_retry_after(headers.get("retry-after")))
    if exc.status == 504:
        return UnknownOutcome(message, code=code)
    if exc.status >= 500:
        return TemporaryError(message, code=code, retry_after=parse_retry_after(headers.get("retry-after")))
    return PermanentError(message, code=code)


def _transport_error(exc: requests.RequestException) -> Exception:
    """Refused and unconnectable requests never left; anything later may have reached Twilio."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return TemporaryError(f"Twilio unreachable: {exc}")
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], MaxRetryError):
        # requests wraps connection-setup failures (refused, DNS) in MaxRetryError; with retries
        # off, a failure after the request was written surfaces as a bare ProtocolError instead.
        return TemporaryError(f"Twilio unreachable: {exc}")
    return UnknownOutcome(f"Twilio may have the message: {exc}")
