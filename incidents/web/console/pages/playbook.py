"""The breach playbook in the console: start it from a breach incident, start a drill, watch a run.

Starting asks the admin's current authenticator code again (re-authentication), then calls the
same `runs.start` verb the API calls, with the console as the door. The run page polls its steps
every 10 seconds while the run is running; without JavaScript a reload does the same.
The actions on a run (retry, skip, resend, show keys, regulator) are in playbook_actions.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from incidents import clock
from incidents.domain.enums import Source
from incidents.domain.permissions import Permission
from incidents.domain.playbook import ACTIVE_RUN_STATES, BREACH_CATEGORY, RunState
from incidents.models import Incident, PlaybookRun, RegulatorClock, RevealedSecret
from incidents.services import sealed
from incidents.services.accounts import login, second_factor
from incidents.services.errors import NotFound, ServiceError
from incidents.services.playbook import runs
from incidents.web.console import bp, guard
from incidents.web.console.guard import requires
from incidents.web.console.pages import playbook_forms as forms
from incidents.web.playbook_pdf import run_pdf, run_record, step_duration
from incidents.web.session import db_session

RUN = "/playbook/runs/<int(min=1, max=2147483647):run_id>"
INCIDENT = "/incidents/<int(min=1, max=2147483647):incident_id>"
FRAGMENT = "HX-Request"
LIST_LIMIT = 50
WRONG_CODE = "That authenticator code is not right, or it was already used. Wait for the next code and enter it."


@dataclass
class Panel:
    """What the incident page shows about the playbook on a breach incident."""
    runs: list[PlaybookRun]
    active: PlaybookRun | None
    regulator: RegulatorClock | None
    form: forms.StartForm | None


def panel(session, incident: Incident, form: forms.StartForm | None = None) -> Panel | None:
    """None unless the incident is a breach; the start form only for admins."""
    if incident.category != BREACH_CATEGORY:
        return None
    runs = list(session.scalars(select(PlaybookRun).where(PlaybookRun.incident_id == incident.id)
                                .order_by(PlaybookRun.id.desc())))
    active = next((r for r in runs if r.state in ACTIVE_RUN_STATES), None)
    if not current_user.can(Permission.ADMIN):
        form = None
    elif form is None:
        form = forms.StartForm(formdata=None, summary=incident.title)
    return Panel(runs=runs, active=active, regulator=session.get(RegulatorClock, incident.id), form=form)


def reauthenticated(form: forms.CodeForm, *, otherwise: str) -> str | None:
    """None when the code is the admin's current one, else the refusal, ending with `otherwise`
    (what did not happen). A good code is committed as used at once, so it cannot be replayed even
    if what follows fails; failures count towards the sign-in lockout, so guessing is slowed alike."""
    s = db_session()
    user = current_user.user
    attempt = login.Attempt(email=login.normal_email(user.email), ip=request.remote_addr or "",
                            user_agent=(request.user_agent.string or "")[:300], now=clock.now())
    refused = login.throttled(s, attempt)
    keys = sealed.keyring(current_app.config["VIGIL"])
    if refused is None and second_factor.verify_code(user, form.code.data or "", now=attempt.now, keys=keys):
        s.commit()
        return None
    if refused is None:
        login.record(s, attempt, login.Outcome.BAD_SECOND_FACTOR, user)
    s.commit()
    return f"{refused or WRONG_CODE} {otherwise}"


@bp.post(INCIDENT + "/breach-playbook", endpoint="playbook_start")
@requires(Permission.ADMIN)
def start(incident_id: int):
    from incidents.web.console.pages.incident import _render as incident_page
    form = forms.StartForm()
    if not form.validate():
        return incident_page(incident_id, error=forms.first_error(form), status=422, playbook=_cleared(form))
    refused = reauthenticated(form, otherwise="Nothing was started.")
    if refused:
        return incident_page(incident_id, error=refused, status=403, playbook=_cleared(form))
    return _start(lambda error: incident_page(incident_id, error=error.message, status=error.status,
                                              playbook=_cleared(form)),
                  incident_id=incident_id, mode="live", summary=form.summary.data.strip(),
                  actions=(form.actions.data or "").strip() or None)


@bp.get("/playbook", endpoint="playbook")
@requires(Permission.ADMIN)
def runs_page():
    return _list(forms.DrillForm(formdata=None))


@bp.post("/playbook/drills", endpoint="playbook_drill")
@requires(Permission.ADMIN)
def drill():
    form = forms.DrillForm()
    if not form.validate():
        return _list(_cleared(form), error=forms.first_error(form), status=422)
    refused = reauthenticated(form, otherwise="Nothing was started.")
    if refused:
        return _list(_cleared(form), error=refused, status=403)
    return _start(lambda error: _list(_cleared(form), error=error.message, status=error.status),
                  incident_id=None, mode="drill", summary=(form.summary.data or "").strip() or None, actions=None)


def _start(refused, **arguments):
    s = db_session()
    try:
        run = runs.start(s, actor=guard.actor(), source=Source.CONSOLE, where=guard.where(), now=clock.now(),
                         **arguments)
    except NotFound:
        raise
    except ServiceError as error:
        s.rollback()
        return refused(error)
    s.commit()
    what = "Drill" if run.mode == "drill" else "Breach playbook"
    flash(f"{what} started: run #{run.id}. Its steps run one after another; this page follows them.", "success")
    return redirect(url_for("console.playbook_run", run_id=run.id), 303)


def _cleared(form):
    form.code.data = ""  # a code is good once: never typed back into the page
    return form


def _list(form: forms.DrillForm, *, error: str | None = None, status: int = 200):
    s = db_session()
    listed = runs.list_runs(s, limit=LIST_LIMIT)
    titles = dict(s.execute(select(Incident.id, Incident.title).where(
        Incident.id.in_({r.incident_id for r in listed if r.incident_id}))).all())
    return render_template("console/playbook.html", runs=listed, titles=titles, form=form, error=error), status


@bp.get(RUN, endpoint="playbook_run")
@requires(Permission.ADMIN)
def run_page(run_id: int):
    s = db_session()
    run = runs.get(s, run_id)
    record = run_record(s, run, now=clock.now())
    if request.headers.get(FRAGMENT):  # the steps' poll
        if run.state != RunState.RUNNING:  # stopped: reload once for the forms that come with that
            return "", 200, {"HX-Refresh": "true", "Vary": FRAGMENT}
        return render_template("console/_playbook_steps.html", r=record, took=step_duration), 200, {"Vary": FRAGMENT}
    return render_run(record), 200, {"Vary": FRAGMENT}


def render_run(record, **bound) -> str:
    """The run page; `bound` holds a submitted form that failed (skip, regulator) and its error."""
    s = db_session()
    keys = s.execute(select(func.count()).where(RevealedSecret.run_id == record.run.id,
                                                RevealedSecret.ciphertext.is_not(None))).scalar_one()
    shown = s.execute(select(func.count()).where(RevealedSecret.run_id == record.run.id,
                                                 RevealedSecret.revealed_at.is_not(None))).scalar_one()
    return render_template("console/playbook_run.html", r=record, took=step_duration, keys_waiting=keys,
                           keys_shown=shown,
                           skip=bound.get("skip"), skip_position=bound.get("skip_position"),
                           reveal=bound.get("reveal") or forms.CodeForm(formdata=None),
                           regulator=bound.get("regulator") or forms.RegulatorForm(formdata=None),
                           error=bound.get("error"))


@bp.get(RUN + ".pdf", endpoint="playbook_pdf")
@requires(Permission.ADMIN)
def pdf(run_id: int):
    s = db_session()
    now = clock.now()
    record = run_record(s, runs.get(s, run_id), now=now)
    return Response(run_pdf(record, generated_at=now), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="playbook-run-{run_id}.pdf"'})
