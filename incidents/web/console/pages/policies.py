"""Escalation: each policy's steps (who, how, after how long), repeats, deferral and the services
that use it; ops engineers tune step waits, repeats and which policy a service uses."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from incidents import clock
from incidents.domain.durations import format_duration
from incidents.domain.permissions import Permission
from incidents.models import EscalationPolicy
from incidents.services import escalation_policies as policies
from incidents.services import oncall
from incidents.services.errors import Invalid, NotFound
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.config_forms import place_error
from incidents.web.console.pages.policies_forms import (ServicePolicyForm, chosen_policy, parsed_delays,
                                                        timing_form)
from incidents.web.session import db_session

POLICY = "/policies/<int:policy_id>"  # the service bounds the id (a too-large one is not found)
WHEN = {"working_hours": "in working hours only", "outside_working_hours": "outside working hours only"}
CHANNELS = {"sms": "SMS", "slack": "Slack"}


@dataclass
class Target:
    kind: str  # rotation | user | slack | unknown
    name: str
    label: str  # who it is: the person now on call, the user's name, the channel
    link: str | None = None


@dataclass
class StepView:
    number: int
    targets: list[Target]
    channels: str
    wait: str
    when: str | None


@bp.get("/policies", endpoint="policies")
@requires(Permission.VIEW)
def policies_page():
    session = db_session()
    rows = policies.list_policies(session)
    services = policies.list_services(session)
    return render_template(
        "console/policies.html", policies=rows, steps={p.id: step_views(session, p) for p in rows},
        using=policies.services_by_policy(services), services=services, default=policies.DEFAULT,
        has_default=any(p.name == policies.DEFAULT for p in rows))


@bp.get(POLICY, endpoint="policy")
@requires(Permission.VIEW)
def policy_page(policy_id: int):
    return _render_policy(policy_id)


@bp.post(POLICY, endpoint="edit_policy")
@requires(Permission.EDIT_ONCALL)
def edit_policy(policy_id: int):
    session = db_session()
    policies.get(session, policy_id)  # 404 before anything else
    form = timing_form()
    delays = parsed_delays(form) if form.validate_on_submit() else None
    if delays is None:
        return _render_policy(policy_id, form=form, status=422)
    try:
        policy, changed = policies.update_timing(session, policy_id=policy_id, delays=delays,
                                                 repeat=form.repeat.data, actor=actor(), where=where(),
                                                 now=clock.now())
    except Invalid as error:
        session.rollback()
        return _render_policy(policy_id, form=form, error=place_error(form, error.message), status=422)
    session.commit()
    flash(f"Saved {policy.name}: waits and repeats apply from each incident's next step."
          if changed else "Nothing changed.", "success" if changed else "info")
    return redirect(url_for("console.policy", policy_id=policy.id), code=303)


@bp.post("/policies/services/<int(min=1, max=2147483647):service_id>", endpoint="service_policy")
@requires(Permission.EDIT_ONCALL)
def service_policy(service_id: int):
    form = ServicePolicyForm()
    choice = chosen_policy(form) if form.validate_on_submit() else False
    if choice is False:
        abort(404, description="No such escalation policy.")
    session = db_session()
    service, changed = policies.set_service_policy(session, service_id=service_id, policy_id=choice,
                                                   actor=actor(), where=where(), now=clock.now())
    session.commit()
    if changed:
        name = policies.get(session, choice).name if choice else f"none (uses {policies.DEFAULT!r})"
        flash(f"{service.name} now uses {name} for incidents opened from now on.", "success")
    return redirect(url_for("console.policies") + "#services", code=303)


def _render_policy(policy_id: int, *, form=None, error: str | None = None, status: int = 200):
    session = db_session()
    policy = policies.get(session, policy_id)
    if form is None and current_user.can(Permission.EDIT_ONCALL):
        form = timing_form(policy)
    services = policies.services_by_policy(policies.list_services(session)).get(policy.id, [])
    page = render_template("console/policies_edit.html", policy=policy, steps=step_views(session, policy),
                           services=services, form=form, error=error, default=policies.DEFAULT)
    return page, status


# --- presenting steps -------------------------------------------------------------------------------

def step_views(session, policy: EscalationPolicy) -> list[StepView]:
    now = clock.now()
    return [StepView(number=i + 1, targets=[_target(session, t, now) for t in step.get("targets", [])],
                     channels=", ".join(CHANNELS.get(c, c) for c in step.get("channels", [])),
                     wait=format_duration(timedelta(seconds=int(step.get("escalate_after", 0) or 0))),
                     when=WHEN.get(step.get("when")))
            for i, step in enumerate(policy.steps or [])]


def _target(session, target: str, now) -> Target:
    kind, _, name = str(target).partition(":")
    if kind == "rotation":
        try:
            found = oncall.oncall_at(session, oncall.get(session, name), now)
        except NotFound:
            return Target("unknown", name, "no such rotation: this step pages nobody")
        label = f"now {found[0].name}" if found else "nobody on call now"
        return Target(kind, name, label, url_for("console.rotation", name=name))
    if kind == "user":
        user = oncall.users_by_email(session, [name]).get(name)
        label = user.name if user and user.active else "no active user: this target pages nobody"
        return Target(kind, name, label)
    if kind == "slack":
        return Target(kind, name, "Slack channel")
    return Target("unknown", str(target), "not understood")
