"""Twilio webhooks: SMS replies from on-call staff, and delivery status of the pages we sent.

`X-Twilio-Signature` is checked against PUBLIC_URL + path + form fields before anything acts on
the request (403 otherwise): a forged reply must not acknowledge an outage.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app, request
from sqlalchemy import select

from incidents import clock
from incidents.models import Page
from incidents.providers.twilio_sms import twiml_reply, verify_signature
from incidents.services import sms_replies
from incidents.services.engine import deliveries
from incidents.web.errors import error_body
from incidents.web.session import db_session

bp = APIBlueprint("twilio_hooks", __name__, tag="Webhooks")
MAX_BODY = 16 * 1024
FAILED = {"failed", "undelivered"}


def _refuse():
    """None when the request is Twilio's; otherwise the answer that refuses it."""
    settings = current_app.config["VIGIL"]
    if settings.twilio is None:
        return error_body(404, "Twilio is not configured"), 404
    if (request.content_length or 0) > MAX_BODY:
        return error_body(413, "body too large"), 413
    url = settings.public_url + request.full_path.rstrip("?")
    if not verify_signature(settings.twilio.auth_token, url, request.form,
                            request.headers.get("X-Twilio-Signature")):
        return error_body(403, "invalid Twilio signature"), 403
    return None


@bp.post("/webhooks/twilio/sms")
@bp.doc(summary="Twilio messaging webhook: SMS replies (a, r, e with a page's code; help)",
        responses={200: "TwiML reply", 400: "no MessageSid or From", 403: "invalid signature",
                   404: "Twilio is not configured", 413: "body too large"})
def sms_reply():
    refused = _refuse()
    if refused:
        return refused
    sid, phone, text = (request.form.get(k, "") for k in ("MessageSid", "From", "Body"))
    if not sid or not phone:
        return error_body(400, "MessageSid and From are required"), 400
    session = db_session()
    answer = None
    if sms_replies.first_time(session, sid=sid[:64], now=clock.now()):
        answer = sms_replies.handle(session, phone=phone, text=text[:1600])
    session.commit()
    return Response(twiml_reply(answer), mimetype="application/xml")


@bp.post("/webhooks/twilio/status")
@bp.doc(summary="Twilio status callback for pages sent by SMS",
        responses={204: "recorded", 403: "invalid signature", 404: "Twilio is not configured",
                   413: "body too large"})
def sms_status():
    refused = _refuse()
    if refused:
        return refused
    sid, status = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    session = db_session()
    page = session.scalars(select(Page).where(Page.provider_id == sid[:100], Page.channel == "sms")).first()
    if page is not None and page.status == "sent" and status in FAILED:
        code = request.form.get("ErrorCode") or "no code"
        deliveries.mark_failed(session, page_id=page.id, error=f"Twilio reports {status} ({code})",
                               now=clock.now())
        session.commit()
    return "", 204
