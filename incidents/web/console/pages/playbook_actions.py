"""Actions on a playbook run: retry or skip a failed step, resend a notice, show the new keys once,
record that the regulator was notified. Each calls its service verb with the signed-in admin as
actor and the console as the door, then redirects back to the run (Post/Redirect/Get)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from incidents import clock
from incidents.domain.enums import Source
from incidents.domain.permissions import Permission
from incidents.models import RevealedSecret
from incidents.services.errors import NotFound, ServiceError
from incidents.web.console import bp, guard
from incidents.web.console.guard import requires
from incidents.web.console.pages import playbook_forms as forms
from incidents.web.console.pages.playbook import RUN, _run, reauthenticated, render_run
from incidents.web.playbook_pdf import run_record
from incidents.web.session import db_session

STEP = RUN + "/steps/<int(min=1, max=1000):position>"
NOTICE = RUN + "/notices/<int(min=1, max=9223372036854775807):notice_id>"


def _back(run_id: int):
    return redirect(url_for("console.playbook_run", run_id=run_id), 303)


def _refused(run_id: int, message: str, status: int, **bound):
    s = db_session()
    s.rollback()
    record = run_record(s, _run(s, run_id), now=clock.now())
    return render_run(record, error=message, **bound), status


def _act(run_id: int, verb, done: str, *, bound: dict | None = None, **arguments):
    s = db_session()
    _run(s, run_id)  # NotFound: the console's 404 page
    try:
        verb(s, actor=guard.actor(), source=Source.CONSOLE, where=guard.where(), now=clock.now(), **arguments)
    except NotFound:
        raise
    except ServiceError as error:
        return _refused(run_id, error.message, error.status, **(bound or {}))
    s.commit()
    flash(done, "success")
    return _back(run_id)


@bp.post(STEP + "/retry", endpoint="playbook_retry")
@requires(Permission.ADMIN)
def retry(run_id: int, position: int):
    from incidents.services.playbook import runs
    return _act(run_id, runs.retry, f"Step {position} is tried again; the run goes on from there.",
                run_id=run_id, position=position)


@bp.post(STEP + "/skip", endpoint="playbook_skip")
@requires(Permission.ADMIN)
def skip(run_id: int, position: int):
    from incidents.services.playbook import runs
    form = forms.SkipForm()
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422, skip=form, skip_position=position)
    return _act(run_id, runs.skip, f"Step {position} skipped; the run goes on with the next step.",
                bound={"skip": form, "skip_position": position},
                run_id=run_id, position=position, reason=form.reason.data.strip())


@bp.post(NOTICE + "/resend", endpoint="playbook_resend")
@requires(Permission.ADMIN)
def resend(run_id: int, notice_id: int):
    from incidents.services.playbook import notify
    return _act(run_id, notify.resend, "The notice is sent again.", run_id=run_id, notice_id=notice_id)


@bp.post(RUN + "/regulator", endpoint="playbook_regulator")
@requires(Permission.ADMIN)
def regulator_notified(run_id: int):
    from incidents.services.playbook import regulator
    form = forms.RegulatorForm()
    run = _run(db_session(), run_id)
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422, regulator=form)
    if run.incident_id is None:
        return _refused(run_id, "This run has no incident, so no regulator's clock.", 409, regulator=form)
    return _act(run_id, regulator.notified, "Recorded: the regulator was notified; its clock has stopped.",
                bound={"regulator": form}, incident_id=run.incident_id, reference=form.reference.data.strip())


@bp.post(RUN + "/keys", endpoint="playbook_keys")
@requires(Permission.ADMIN)
def reveal(run_id: int):
    """The new keys in this response only (no-store): never in a flash, a URL or a log line. Each is
    wiped as it is shown, so a second look finds nothing."""
    from incidents.services.playbook.rotators import vigil_keys
    s = db_session()
    _run(s, run_id)
    form = forms.CodeForm()
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422)
    waiting = list(s.scalars(select(RevealedSecret).where(RevealedSecret.run_id == run_id,
                                                          RevealedSecret.ciphertext.is_not(None))
                             .order_by(RevealedSecret.id)))
    if not waiting:
        flash("The new keys of this run were already shown; Vigil does not keep them.", "info")
        return _back(run_id)
    refused = reauthenticated(form)
    if refused:
        return _refused(run_id, refused.replace("nothing was started", "no key was shown"), 403)
    keys = [(row.label, vigil_keys.reveal(s, secret_id=row.id, actor=current_user.user.email, now=clock.now()))
            for row in waiting]
    s.commit()
    body = render_template("console/playbook_keys.html", run_id=run_id, keys=keys)
    return body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
