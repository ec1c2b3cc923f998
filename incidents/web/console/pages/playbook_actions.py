"""Actions on a playbook run: retry or skip a failed step, resend a notice, show the new keys once,
record that the regulator was notified. Each calls its service verb with the signed-in admin as
actor and the console as the door, then redirects back to the run (Post/Redirect/Get)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from sqlalchemy import select

from incidents import clock
from incidents.domain.enums import Source
from incidents.domain.permissions import Permission
from incidents.domain.playbook import NoticeState
from incidents.models import PlaybookNotice, RevealedSecret
from incidents.services import sealed
from incidents.services.errors import NotFound, ServiceError
from incidents.services.playbook import notify, regulator, runs
from incidents.services.playbook.rotators import vigil_keys
from incidents.web.console import bp, guard
from incidents.web.console.guard import requires
from incidents.web.console.pages import playbook_forms as forms
from incidents.web.console.pages.playbook import RUN, reauthenticated, render_run
from incidents.web.playbook_pdf import run_record
from incidents.web.session import db_session
from workers.tasks.playbook import MAILER, PROVIDERS

STEP = RUN + "/steps/<int(min=1, max=1000):position>"
NOTICE = RUN + "/notices/<int(min=1, max=2147483647):notice_id>"


def _back(run_id: int):
    return redirect(url_for("console.playbook_run", run_id=run_id), 303)


def _refused(run_id: int, message: str, status: int, **bound):
    s = db_session()
    s.rollback()
    record = run_record(s, runs.get(s, run_id), now=clock.now())
    return render_run(record, error=message, **bound), status


def _act(run_id: int, verb, done: str, /, *, bound: dict | None = None, **arguments):
    s = db_session()
    runs.get(s, run_id)  # NotFound: the console's 404 page
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
    return _act(run_id, runs.retry, f"Step {position} is tried again; the run goes on from there.",
                run_id=run_id, position=position)


@bp.post(STEP + "/skip", endpoint="playbook_skip")
@requires(Permission.ADMIN)
def skip(run_id: int, position: int):
    form = forms.SkipForm()
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422, skip=form, skip_position=position)
    return _act(run_id, runs.skip, f"Step {position} skipped; the run goes on with the next step.",
                bound={"skip": form, "skip_position": position},
                run_id=run_id, position=position, reason=form.reason.data.strip())


@bp.post(RUN + "/regulator", endpoint="playbook_regulator")
@requires(Permission.ADMIN)
def regulator_notified(run_id: int):
    form = forms.RegulatorForm()
    run = runs.get(db_session(), run_id)
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422, regulator=form)
    if run.incident_id is None:
        return _refused(run_id, "This run has no incident, so there is no regulator's clock.", 409, regulator=form)
    return _act(run_id, regulator.notified, "Recorded: the regulator was notified; its clock has stopped.",
                bound={"regulator": form}, incident_id=run.incident_id, reference=form.reference.data.strip())


@bp.post(NOTICE + "/resend", endpoint="playbook_resend")
@requires(Permission.ADMIN)
def resend(run_id: int, notice_id: int):
    s = db_session()
    row = s.get(PlaybookNotice, notice_id)
    if row is None or row.run_id != runs.get(s, run_id).id:
        raise NotFound(f"run {run_id} has no notice {notice_id}")
    try:  # commits by itself: the notice is `sending` on disk before the provider is called
        row = notify.resend(s, notice_id=notice_id, actor=guard.actor(), now=clock.now(),
                            extensions=_extensions(), where=guard.where())
    except ServiceError as error:
        return _refused(run_id, error.message, error.status)
    s.commit()
    if row.state == NoticeState.SENT:
        flash(f"The notice to {row.address} was sent again.", "success")
    else:
        flash(f"The notice to {row.address} is {row.state} again: {row.reason or 'no reason given'}.", "error")
    return _back(run_id)


def _extensions() -> dict:
    """What sending needs, as the worker gives it to steps (workers/tasks/playbook.py)."""
    return {"providers": current_app.extensions.get(PROVIDERS), "mailer": current_app.extensions.get(MAILER),
            "secret_key": sealed.keyring(current_app.config["VIGIL"]),
            "public_url": current_app.config["VIGIL"].public_url}


@bp.post(RUN + "/keys", endpoint="playbook_keys")
@requires(Permission.ADMIN)
def reveal(run_id: int):
    """The new keys in this response only (no-store): never in a flash, a URL or a log line. Each is
    wiped as it is shown, so a second look finds nothing."""
    s = db_session()
    runs.get(s, run_id)
    form = forms.CodeForm()
    if not form.validate():
        return _refused(run_id, forms.first_error(form), 422)
    waiting = list(s.scalars(select(RevealedSecret.id).where(RevealedSecret.run_id == run_id,
                                                             RevealedSecret.ciphertext.is_not(None))
                             .order_by(RevealedSecret.id)))
    if not waiting:
        flash("The new keys of this run were already shown; Vigil does not keep them.", "info")
        return _back(run_id)
    refused = reauthenticated(form, otherwise="No key was shown.")
    if refused:
        return _refused(run_id, refused, 403)
    try:
        keys = [vigil_keys.reveal(s, secret_id=secret_id, actor=guard.actor(), where=guard.where(),
                                  now=clock.now(), secret_key=sealed.keyring(current_app.config["VIGIL"]))
                for secret_id in waiting]
    except ServiceError as error:  # another admin was quicker, or a key cannot be unsealed
        return _refused(run_id, error.message, error.status)
    s.commit()  # wiped on disk before the keys leave the server
    body = render_template("console/playbook_keys.html", run_id=run_id, keys=keys)
    return body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}
