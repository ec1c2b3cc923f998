"""A fake Slack Web API on loopback, for the real `slack_sdk` client.

Speaks `POST /api/{chat.postMessage, chat.update, conversations.open, auth.test}` with a bot token
(`Authorization: Bearer`), answering as Slack does: HTTP 200 with `{"ok": false, "error": …}` for
API errors, 429 with Retry-After when rate limited (optionally one message per channel per
`channel_interval` seconds, like Slack). Posted messages and their edits are kept, and Block Kit
is checked (see slack_blocks.py). Anything else is recorded as an error. It can also play Slack's
side of interactivity: a signed button click on a posted message, with a `response_url` back here.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from tests.fakes import slack_blocks
from tests.fakes.http import FakeServer, Reply, Request, Unexpected

BOT_TOKEN = "xoxb-fake-bot-token"
SIGNING_SECRET = "fake-slack-signing-secret"
TEAM_ID, BOT_USER_ID, BOT_ID = "T0VIGIL", "U0VIGILBOT", "B0VIGIL"
PARAMS = {
    "chat.postMessage": ({"channel"}, {"text", "blocks", "unfurl_links", "unfurl_media"}),
    "chat.update": ({"channel", "ts"}, {"text", "blocks"}),
    "conversations.open": ({"users"}, {"return_im"}),
    "auth.test": (set(), set()),
}  # method -> (required, optional) parameters


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list
    history: list[tuple[str, list]] = field(default_factory=list)  # earlier (text, blocks)

    def action_ids(self) -> list[str]:
        return [e["action_id"] for b in self.blocks if b.get("type") == "actions" for e in b["elements"]]


class FakeSlack(FakeServer):
    name = "fake Slack"

    def __init__(self, token: str = BOT_TOKEN, signing_secret: str = SIGNING_SECRET,
                 channel_interval: float | None = None):
        super().__init__()
        self.token, self.signing_secret = token, signing_secret
        self.channel_interval = channel_interval
        self.messages: dict[tuple[str, str], Message] = {}
        self.posts: list[Message] = []  # in posting order
        self.missing: set[str] = set()  # channel and user ids Slack does not know
        self.responses: list[dict] = []  # what Vigil POSTed to response_urls
        self.rate_limited = 0
        self._last_post: dict[str, float] = {}
        self._counter = itertools.count(1)

    @property
    def url(self) -> str:
        """SLACK_API_URL for a client pointed at this fake."""
        return self.origin + "/api/"

    def in_channel(self, channel: str) -> list[Message]:
        return [m for m in self.posts if m.channel == channel]

    # --- the Web API --------------------------------------------------------------------------------

    def accepts(self, request: Request) -> bool:
        return request.path.startswith("/api/")

    def authorize(self, request: Request) -> Reply | None:
        if not request.path.startswith("/api/") or request.bearer == self.token:
            return None  # response_urls need no token
        error = "not_authed" if request.bearer is None else "invalid_auth"
        self.unexpected(request, error)
        return Reply(200, {"ok": False, "error": error})

    def route(self, request: Request) -> Reply:
        if request.method != "POST":
            raise Unexpected("Vigil only POSTs")
        if request.path.startswith("/responses/"):
            self.responses.append(request.json if request.json is not None else request.form)
            return Reply(200, "ok")
        method = request.path.removeprefix("/api/")
        if method not in PARAMS:
            raise Unexpected(f"unknown API method {method!r}")
        params = self._params(request, method)
        return Reply(200, getattr(self, "_" + method.replace(".", "_"))(request, params))

    def error_body(self, status: int) -> dict | str:
        # What a proxy in front of Slack answers; API errors come as 200 {"ok": false} (pass a body).
        return {"ok": False, "error": "ratelimited"} if status == 429 else "upstream connect error"

    def _params(self, request: Request, method: str) -> dict:
        params = request.json if isinstance(request.json, dict) else dict(request.form)
        required, optional = PARAMS[method]
        if not required <= set(params):
            raise Unexpected(f"{method} without {sorted(required - set(params))}")
        if set(params) - required - optional:
            raise Unexpected(f"{method} with unexpected {sorted(set(params) - required - optional)}")
        if isinstance(params.get("blocks"), str):  # form-encoded calls carry blocks as JSON text
            params["blocks"] = json.loads(params["blocks"])
        return params

    def _chat_postMessage(self, request: Request, params: dict) -> dict:
        channel = self._channel(params["channel"])
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        invalid = self._content_problems(request, params)
        if invalid:
            return invalid
        wait = self._rate_wait(channel)
        if wait:
            raise _RateLimited(wait)
        message = Message(channel, self._ts(), params.get("text", ""), params.get("blocks") or [])
        self.messages[(channel, message.ts)] = message
        self.posts.append(message)
        return {"ok": True, "channel": channel, "ts": message.ts, "message": self._resource(message)}

    def _chat_update(self, request: Request, params: dict) -> dict:
        message = self.messages.get((params["channel"], params["ts"]))
        if message is None:
            known = any(channel == params["channel"] for channel, _ in self.messages)
            return {"ok": False, "error": "message_not_found" if known else "channel_not_found"}
        invalid = self._content_problems(request, params)
        if invalid:
            return invalid
        message.history.append((message.text, message.blocks))
        message.text, message.blocks = params.get("text", ""), params.get("blocks") or []
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text,
                "message": self._resource(message)}

    def _conversations_open(self, request: Request, params: dict) -> dict:
        users = params["users"].split(",")
        if len(users) != 1 or not users[0].startswith("U"):
            raise Unexpected(f"conversations.open for {params['users']!r}: Vigil opens one DM at a time")
        if users[0] in self.missing:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users[0][1:]}}

    def _auth_test(self, request: Request, params: dict) -> dict:
        return {"ok": True, "url": "https://vigil-test.slack.com/", "team": "Vigil Test", "user": "vigil",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _channel(self, channel: str) -> str | None:
        """The channel a post lands in: a user id means the app's DM with them."""
        if channel in self.missing or not channel or channel[0] not in "CDGU#":
            return None
        return "D" + channel[1:] if channel.startswith("U") else channel

    def _content_problems(self, request: Request, params: dict) -> dict | None:
        found = []
        if not params.get("text"):
            found.append("no text: Slack needs it for notifications and screen readers")
        else:
            found += slack_blocks.text_problems("text", params["text"], limit=40000)
        if "blocks" in params:
            found += slack_blocks.problems(params["blocks"])
        for problem in found:
            self.unexpected(request, problem)
        return {"ok": False, "error": "invalid_blocks", "errors": found} if found else None

    def _rate_wait(self, channel: str) -> float:
        now = time.monotonic()
        last = self._last_post.get(channel)
        if self.channel_interval and last is not None and now - last < self.channel_interval:
            return self.channel_interval - (now - last)
        self._last_post[channel] = now
        return 0.0

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._counter):06d}"

    def _resource(self, message: Message) -> dict:
        return {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": message.ts,
                "text": message.text, "blocks": message.blocks}

    def _route(self, request: Request) -> Reply:
        try:
            return super()._route(request)
        except _RateLimited as exc:
            self.rate_limited += 1
            return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(math.ceil(exc.wait))})

    # --- Slack's side of interactivity --------------------------------------------------------------

    def sign(self, body: bytes, timestamp: int, *, secret: str | None = None) -> str:
        """X-Slack-Signature, computed here independently of slack_sdk."""
        base = b"v0:" + str(timestamp).encode() + b":" + body
        return "v0=" + hmac.new((secret or self.signing_secret).encode(), base, hashlib.sha256).hexdigest()

    def click(self, url: str, message: Message, action_id: str, *, user_id: str, user_name: str = "someone",
              timestamp: int | None = None, secret: str | None = None, timeout: float = 5) -> requests.Response:
        """A person presses a button of a posted message: POST Slack's block_actions payload to
        Vigil's interactivity URL, signed. Only a button the message shows now can be pressed."""
        buttons = [e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]
                   if e["action_id"] == action_id]
        assert buttons, f"message {message.ts} has no {action_id!r} button, only {message.action_ids()}"
        block_id = next(b.get("block_id", "") for b in message.blocks if b.get("type") == "actions")
        payload = self.action_payload(message, dict(buttons[0], block_id=block_id), user_id, user_name)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(stamp),
                   "X-Slack-Signature": self.sign(body, stamp, secret=secret)}
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    def action_payload(self, message: Message, button: dict, user_id: str, user_name: str) -> dict:
        response_url = f"{self.origin}/responses/{next(self._counter)}"
        action = {"type": "button", "action_id": button["action_id"], "block_id": button["block_id"],
                  "value": button.get("value"), "text": button["text"], "action_ts": f"{time.time():.6f}"}
        return {
            "type": "block_actions", "api_app_id": "A0VIGIL", "token": "deprecated-verification-token",
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID, "domain": "vigil-test"},
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                          "is_ephemeral": False},
            "channel": {"id": message.channel, "name": message.channel},
            "message": self._resource(message), "response_url": response_url,
            "trigger_id": f"{next(self._counter)}.{TEAM_ID}.fake", "actions": [action],
        }


class _RateLimited(Exception):
    def __init__(self, wait: float):
        self.wait = wait
