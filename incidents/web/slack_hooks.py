"""Slack interactivity: Acknowledge / Resolve / Escalate buttons on pages.

The signature and timestamp are checked on the raw bytes before anything is parsed; the answer
goes back at once (Slack waits three seconds), and the page messages are updated after COMMIT.
"""
from __future__ import annotations

import json
import time

from apiflask import APIBlueprint
from flask import current_app, request

from incidents.domain.enums import Source
from incidents.providers.slack_chat import verify_slack_request
from incidents.services import after_commit, responses
from incidents.services.errors import ServiceError
from incidents.web.errors import error_body
from incidents.web.session import db_session

bp = APIBlueprint("slack_hooks", __name__, tag="Webhooks")
MAX_BODY = 64 * 1024


@bp.post("/webhooks/slack/actions")
@bp.doc(summary="Slack interactivity URL (button clicks on pages)",
        responses={200: "handled (or an ephemeral explanation)", 400: "not a button click Vigil sent",
                   401: "bad or stale signature",
                   404: "Slack is not configured", 413: "body too large"})
def slack_actions():
    settings = current_app.config["VIGIL"].slack
    if settings is None:
        return error_body(404, "Slack is not configured"), 404
    if (request.content_length or 0) > MAX_BODY:
        return error_body(413, "body too large"), 413
    body = request.get_data(cache=True)
    if not verify_slack_request(settings.signing_secret, request.headers, body, time.time()):
        return error_body(401, "invalid Slack signature or stale timestamp"), 401
    try:
        payload = json.loads(request.form.get("payload", ""))
        action = payload["actions"][0]
        verb, incident_id = action["action_id"], int(action["value"])
        slack_user = payload["user"]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        return error_body(400, "not a block_actions payload Vigil sent buttons for"), 400
    if verb not in responses.VERBS or not 0 < incident_id < 2**63:
        return error_body(400, f"unknown action {verb!r}"), 400
    session = db_session()
    try:
        user = responses.responder_by_slack_id(session, slack_user)
        incident = responses.act(session, verb=verb, incident_id=incident_id, user=user, source=Source.SLACK)
        after_commit.enqueue(session, "pages.refresh", incident.id)
        session.commit()
    except ServiceError as exc:
        session.rollback()
        return _ephemeral(exc.message)
    return _ephemeral(f"#{incident.id} {responses.PAST[verb]} by {user.name}")


def _ephemeral(text: str):
    # Seen only by the person who clicked; the shared message is updated by pages.refresh.
    return {"response_type": "ephemeral", "replace_original": False, "text": text}
