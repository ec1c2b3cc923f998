"""A fake Twilio REST API on loopback, for the real `twilio` client (after GoAlert's mocktwilio).

Speaks `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (and `GET …/{AccountSid}.json`,
the account, which `vigil doctor` fetches) with HTTP basic auth (account SID and
auth token), validates like Twilio (error codes 21211, 21602, 21606, 21610, 21617) and answers
201 with a Message resource. Anything else, bad credentials and unknown parameters are recorded
as errors. It can also play Twilio's side of the webhooks: a signed inbound SMS and a signed
status callback, so a test drives Vigil the way Twilio would.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate

import requests

from tests.fakes.http import FakeServer, Reply, Request, Unexpected

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"
MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json")
ACCOUNT_PATH = re.compile(r"/2010-04-01/Accounts/(?P<sid>[^/]+)\.json")  # `vigil doctor` fetches it
E164 = re.compile(r"\+[1-9]\d{6,14}")
FIELDS = {"To", "From", "Body", "StatusCallback"}
MAX_BODY = 1600


@dataclass
class Message:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    status: str = "queued"


class FakeTwilio(FakeServer):
    name = "fake Twilio"

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 numbers: tuple[str, ...] = (FROM_NUMBER,)):
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.numbers = set(numbers)  # the account's own numbers, the only valid From
        self.opted_out: set[str] = set()  # recipients who texted STOP
        self.messages: list[Message] = []
        self._sids = itertools.count(1)

    @property
    def url(self) -> str:
        """TWILIO_API_URL for a client pointed at this fake."""
        return self.origin

    def bodies_to(self, number: str) -> list[str]:
        return [m.body for m in self.messages if m.to == number]

    # --- the REST API -----------------------------------------------------------------------------

    def accepts(self, request: Request) -> bool:
        return bool(MESSAGES_PATH.fullmatch(request.path))

    def authorize(self, request: Request) -> Reply | None:
        if request.basic_auth == (self.account_sid, self.auth_token):
            return None
        self.unexpected(request, f"bad credentials {request.basic_auth and request.basic_auth[0]!r}")
        return Reply(401, _error(20003, "Authenticate", 401), {"WWW-Authenticate": 'Basic realm="Twilio API"'})

    def route(self, request: Request) -> Reply:
        account = ACCOUNT_PATH.fullmatch(request.path)
        if account and request.method == "GET":
            if account["sid"] != self.account_sid:
                raise Unexpected(f"account {account['sid']} is not {self.account_sid}")
            return Reply(200, {"sid": self.account_sid, "friendly_name": "Vigil test account", "status": "active",
                               "type": "Full", "uri": f"/2010-04-01/Accounts/{self.account_sid}.json"})
        match = MESSAGES_PATH.fullmatch(request.path)
        if not match or request.method != "POST":
            raise Unexpected("not an endpoint of this fake")
        if match["sid"] != self.account_sid:
            raise Unexpected(f"account {match['sid']} is not {self.account_sid}")
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise Unexpected(f"content type {request.headers.get('content-type')!r}")
        if set(request.form) - FIELDS:
            raise Unexpected(f"unexpected parameters {sorted(set(request.form) - FIELDS)}")
        refusal = self._validate(request.form)
        if refusal:
            return refusal
        return Reply(201, self._message_resource(self._accept(request.form)))

    def error_body(self, status: int) -> dict:
        if status == 429:
            return _error(20429, "Too Many Requests", 429)
        return _error(20500, "Internal Server Error", status)

    def _validate(self, form: dict[str, str]) -> Reply | None:
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        checks = [
            (not to, 21604, "A 'To' phone number is required."),
            (not from_, 21603, "A 'From' phone number is required."),
            (not body, 21602, "Message body is required."),
            (not E164.fullmatch(to), 21211, f"The 'To' number {to} is not a valid phone number."),
            (from_ not in self.numbers, 21606,
             f"The From phone number {from_} is not a valid, SMS-capable inbound phone number or short code "
             "for your account."),
            (to in self.opted_out, 21610, "Attempt to send to unsubscribed recipient"),
            (len(body) > MAX_BODY, 21617, "The concatenated message body exceeds the 1600 character limit."),
        ]
        for failed, code, message in checks:
            if failed:
                return Reply(400, _error(code, message, 400))
        return None

    def _accept(self, form: dict[str, str]) -> Message:
        message = Message(f"SM{next(self._sids):032x}", form["To"], form["From"], form["Body"],
                          form.get("StatusCallback"))
        self.messages.append(message)
        return message

    def _message_resource(self, m: Message) -> dict:
        now = formatdate(usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}"
        return {
            "sid": m.sid, "account_sid": self.account_sid, "api_version": "2010-04-01", "body": m.body,
            "to": m.to, "from": m.from_, "status": m.status, "direction": "outbound-api",
            "date_created": now, "date_updated": now, "date_sent": None, "error_code": None,
            "error_message": None, "messaging_service_sid": None, "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "USD", "uri": uri + ".json",
            "subresource_uris": {"media": uri + "/Media.json"},
        }

    # --- Twilio's side of Vigil's webhooks ----------------------------------------------------------

    def sign(self, url: str, form: dict[str, str], *, auth_token: str | None = None) -> str:
        """X-Twilio-Signature, computed here independently of the twilio package."""
        payload = url + "".join(name + form[name] for name in sorted(form))
        digest = hmac.new((auth_token or self.auth_token).encode(), payload.encode(), hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def send_sms(self, url: str, *, from_: str, body: str, to: str = FROM_NUMBER,
                 signature: str | None = None, timeout: float = 5) -> requests.Response:
        """POST an inbound SMS to Vigil's messaging webhook, signed as Twilio would."""
        sid = "SM" + secrets.token_hex(16)
        form = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": self.account_sid,
                "From": from_, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
                "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        return self._post_signed(url, form, signature, timeout)

    def send_status(self, message: Message, status: str, *, error_code: str | None = None,
                    timeout: float = 5) -> requests.Response:
        """POST a delivery status ("sent", "delivered", "undelivered", "failed") to the message's
        StatusCallback, signed as Twilio would."""
        assert message.status_callback, f"message {message.sid} was sent without a StatusCallback"
        message.status = status
        form = {"MessageSid": message.sid, "SmsSid": message.sid, "AccountSid": self.account_sid,
                "From": message.from_, "To": message.to, "MessageStatus": status, "SmsStatus": status,
                "ApiVersion": "2010-04-01"}
        if error_code:
            form["ErrorCode"] = error_code
        return self._post_signed(message.status_callback, form, None, timeout)

    def _post_signed(self, url: str, form: dict[str, str], signature: str | None,
                     timeout: float) -> requests.Response:
        headers = {"X-Twilio-Signature": signature if signature is not None else self.sign(url, form),
                   "User-Agent": "TwilioProxy/1.1"}
        return requests.post(url, data=form, headers=headers, timeout=timeout)


def _error(code: int, message: str, status: int) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
