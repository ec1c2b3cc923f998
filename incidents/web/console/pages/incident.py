"""One incident: its facts, its timeline (events, alerts and pages merged), and the actions.

Every action is a POST that calls the same service verb the API, Slack and SMS call (lifecycle, or
sla_clock to pause the response clock), with the signed-in person as actor and "console" as the
door, then redirects back (Post/Redirect/Get).
Each route checks the role itself: hiding a button is a courtesy, the decorator is the rule.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from incidents import clock
from incidents.domain.enums import Source, Status
from incidents.domain.permissions import Permission
from incidents.services import incident_view, lifecycle, maintenance, sla_clock
from incidents.services.errors import NotFound, ServiceError
from incidents.web.console import bp, guard
from incidents.web.console.guard import requires
from incidents.web.console.pages import incident_forms as forms
from incidents.web.console.pages import playbook
from incidents.web.session import db_session

INCIDENT = "/incidents/<int(min=1, max=2147483647):incident_id>"
FRAGMENT = "HX-Request"


@bp.get(INCIDENT, endpoint="incident")
@requires(Permission.VIEW)
def incident_page(incident_id: int):
    if request.headers.get(FRAGMENT):  # the timeline's poll
        session = db_session()
        incident = incident_view.get(session, incident_id)
        return _vary(render_template("console/_incident_timeline.html", incident=incident,
                                     timeline=incident_view.timeline(session, incident=incident)))
    return _vary(_render(incident_id))


def _render(incident_id: int, *, error: str | None = None, status: int = 200, **bound):
    """The page; `bound` holds a submitted form that failed, so its input and errors show."""
    session = db_session()
    incident = incident_view.get(session, incident_id)
    users = incident_view.active_users(session)
    assign = bound.get("assign") or forms.AssignForm(
        formdata=None, assignee=incident.assignee.email if incident.assignee else "")
    assign.assignee.choices = [forms.SelectChoice("", "Choose a person")] + [
        forms.SelectChoice(u.email, f"{u.name} <{u.email}>") for u in users]
    reclassify = bound.get("reclassify") or forms.ReclassifyForm(formdata=None,
                                                                 severity_class=incident.severity_class)
    comment = bound.get("comment") or forms.CommentForm(formdata=None)
    pause = bound.get("pause") or forms.PauseForm(formdata=None)
    current = sla_clock.open_pause(session, incident.id)
    body = render_template("console/incident.html", incident=incident, error=error,
                           timeline=incident_view.timeline(session, incident=incident),
                           assign=assign, reclassify=reclassify, comment=comment, pause=pause,
                           paused=current, paused_ids={incident.id} if current else set(), Status=Status,
                           playbook=playbook.panel(session, incident, bound.get("playbook")),
                           maintenance_until=maintenance.held_until(session, service_id=incident.service_id,
                                                                    now=clock.now()))
    return body, status


def _vary(response):
    """The same URL answers a page or a fragment: caches must tell them apart."""
    body, status = response if isinstance(response, tuple) else (response, 200)
    return body, status, {"Vary": FRAGMENT}


def _act(incident_id: int, verb, done: str, *, failed_form: dict | None = None, **arguments):
    """Run one service verb as the signed-in person through the console door."""
    session = db_session()
    try:
        verb(session, incident_id=incident_id, actor=guard.actor(), source=Source.CONSOLE, **arguments)
    except NotFound:
        raise  # the console's 404 page
    except ServiceError as error:
        session.rollback()
        return _refused(incident_id, error.message, error.status, failed_form or {})
    session.commit()
    flash(done, "success")
    return redirect(_back_to(incident_id), 303)


def _refused(incident_id: int, message: str, status: int, failed_form: dict):
    if _from_triage():
        flash(f"#{incident_id}: {message}", "error")
        return redirect(url_for("console.triage"), 303)
    return _render(incident_id, error=message, status=status, **failed_form)


def _from_triage() -> bool:
    return request.form.get("back") == "triage"  # a fixed word, never a URL: no open redirect


def _back_to(incident_id: int) -> str:
    return url_for("console.triage") if _from_triage() else url_for("console.incident", incident_id=incident_id)


def _invalid(incident_id: int, form, name: str):
    """A form that failed its own checks (missing or overlong field)."""
    message = next(iter(e for errors in form.errors.values() for e in errors), "Check the form.")
    return _refused(incident_id, message, 422, {name: form})


@bp.post(INCIDENT + "/acknowledge", endpoint="incident_acknowledge")
@requires(Permission.RESPOND)
def acknowledge(incident_id: int):
    return _act(incident_id, lifecycle.acknowledge, f"Incident #{incident_id} acknowledged.")


@bp.post(INCIDENT + "/resolve", endpoint="incident_resolve")
@requires(Permission.RESPOND)
def resolve(incident_id: int):
    return _act(incident_id, lifecycle.resolve, f"Incident #{incident_id} resolved.")


@bp.post(INCIDENT + "/comment", endpoint="incident_comment")
@requires(Permission.RESPOND)
def comment(incident_id: int):
    form = forms.CommentForm()
    if not form.validate():
        return _invalid(incident_id, form, "comment")
    return _act(incident_id, lifecycle.comment, f"Comment added to #{incident_id}.", text=form.text.data,
                failed_form={"comment": form})


@bp.post(INCIDENT + "/reopen", endpoint="incident_reopen")
@requires(Permission.WORK)
def reopen(incident_id: int):
    return _act(incident_id, lifecycle.reopen, f"Incident #{incident_id} reopened: paging starts again.")


@bp.post(INCIDENT + "/escalate", endpoint="incident_escalate")
@requires(Permission.WORK)
def escalate(incident_id: int):
    return _act(incident_id, lifecycle.escalate, f"Incident #{incident_id} escalated: the next step is paged now.")


@bp.post(INCIDENT + "/assign", endpoint="incident_assign")
@requires(Permission.WORK)
def assign(incident_id: int):
    form = forms.AssignForm()
    if not form.validate():
        return _invalid(incident_id, form, "assign")
    return _act(incident_id, lifecycle.assign, f"Incident #{incident_id} assigned to {form.assignee.data.strip()}.",
                assignee_email=form.assignee.data, failed_form={"assign": form})


@bp.post(INCIDENT + "/reclassify", endpoint="incident_reclassify")
@requires(Permission.WORK)
def reclassify(incident_id: int):
    form = forms.ReclassifyForm()
    if not form.validate():
        return _invalid(incident_id, form, "reclassify")
    return _act(incident_id, lifecycle.reclassify, f"Incident #{incident_id} reclassified; its deadline follows the new class.",
                severity_class=form.severity_class.data, reason=form.reason.data,
                failed_form={"reclassify": form})


@bp.post(INCIDENT + "/pause", endpoint="incident_pause")
@requires(Permission.WORK)
def pause(incident_id: int):
    form = forms.PauseForm()
    if not form.validate():
        return _invalid(incident_id, form, "pause")
    return _act(incident_id, sla_clock.pause, f"SLA clock of #{incident_id} paused: {form.reason.data.strip().rstrip('.')}.",
                reason=form.reason.data, now=clock.now(), failed_form={"pause": form})


@bp.post(INCIDENT + "/resume", endpoint="incident_resume")
@requires(Permission.WORK)
def resume(incident_id: int):
    return _act(incident_id, sla_clock.resume, f"SLA clock of #{incident_id} resumed; the deadline moved by the paused time.",
                now=clock.now())
