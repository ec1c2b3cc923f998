"""The breach playbook over the API (admin keys): start a run from a breach incident or a drill,
follow it, and retry or skip a failed step. Thin views over incidents.services.playbook.runs."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, request
from sqlalchemy import func, select

from incidents import clock
from incidents.domain import playbook as rules
from incidents.domain.enums import Source
from incidents.models import PlaybookNotice, PlaybookRun, RevealedSecret
from incidents.services import audit
from incidents.services.playbook import runs
from incidents.web import playbook_schemas as schemas
from incidents.web.playbook_pdf import run_pdf, run_record
from incidents.web.api import INCIDENT
from incidents.web.auth import auth, current_actor
from incidents.web.session import db_session

bp = APIBlueprint("playbook", __name__, url_prefix="/api/v1", tag="Breach playbook")
RUN = "/playbook-runs/<int(min=1, max=2147483647):run_id>"
STEP = RUN + "/steps/<int(min=1, max=1000):position>"
ERRORS = {401: "missing or unknown API key", 403: "needs an admin key"}
START_DOC = {**ERRORS, 404: "no such incident", 409: "a run of this mode is already under way",
             422: "not a security breach incident, no breach_playbook configured, or a bad mode or value"}
STEP_DOC = {**ERRORS, 404: "no such run or step", 409: "the step or run is not in a state that allows this",
            422: "a missing or too long reason"}


@bp.post(INCIDENT + "/breach-playbook")
@bp.auth_required(auth, roles=["admin"])
@bp.input(schemas.StartIn, arg_name="body")
@bp.output(schemas.RunOut, status_code=202)
@bp.doc(summary="Start the breach playbook on a security breach incident",
        description="Steps run in order in the background: follow them at GET /api/v1/playbook-runs/{id}.",
        responses=START_DOC)
def start(incident_id: int, body: dict):
    return _start(incident_id, body.get("mode", rules.Mode.LIVE.value), body)


@bp.post("/playbook-drills")
@bp.auth_required(auth, roles=["admin"])
@bp.input(schemas.DrillIn, arg_name="body")
@bp.output(schemas.RunOut, status_code=202)
@bp.doc(summary="Start a drill of the breach playbook (drill targets and recipients only; no incident)",
        responses={**ERRORS, 409: "a drill is already under way", 422: "no breach_playbook configured"})
def drill(body: dict):
    return _start(None, rules.Mode.DRILL.value, body)


@bp.get("/playbook-runs")
@bp.auth_required(auth, roles=["admin"])
@bp.input(schemas.RunQuery, location="query", arg_name="query")
@bp.output(schemas.RunList)
@bp.doc(summary="Breach playbook runs and drills, newest first", responses=ERRORS)
def list_(query: dict):
    return {"items": [run_summary(run) for run in runs.list_runs(db_session(), limit=query["limit"])]}


@bp.get(RUN)
@bp.auth_required(auth, roles=["admin"])
@bp.output(schemas.RunOut)
@bp.doc(summary="A run: its steps, its notices by state, new keys waiting to be shown, its report",
        responses={**ERRORS, 404: "no such run"})
def show(run_id: int):
    session = db_session()
    return run_json(session, runs.get(session, run_id))


@bp.get(RUN + "/report.pdf")
@bp.auth_required(auth, roles=["admin"])
@bp.doc(summary="The run's report as a PDF, for the record (steps, notices, failures, the regulator's "
                "deadline; never a secret)",
        responses={200: {"description": "a PDF document", "content": {"application/pdf": {}}},
                   **ERRORS, 404: "no such run"})
def report_pdf(run_id: int):
    session = db_session()
    now = clock.now()
    body = run_pdf(run_record(session, runs.get(session, run_id), now=now), generated_at=now)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="playbook-run-{run_id}.pdf"'})


@bp.post(STEP + "/retry")
@bp.auth_required(auth, roles=["admin"])
@bp.output(schemas.RunOut, status_code=202)
@bp.doc(summary="Retry a failed step; it resumes from its checkpoint", responses=STEP_DOC)
def retry(run_id: int, position: int):
    session = db_session()
    run = runs.retry(session, run_id=run_id, position=position, actor=current_actor(), source=Source.API,
                     where=_where(), now=clock.now())
    session.commit()
    return run_json(session, run)


@bp.post(STEP + "/skip")
@bp.auth_required(auth, roles=["admin"])
@bp.input(schemas.SkipIn, arg_name="body")
@bp.output(schemas.RunOut, status_code=202)
@bp.doc(summary="Skip a failed or pending step, with a reason; the run goes on", responses=STEP_DOC)
def skip(run_id: int, position: int, body: dict):
    session = db_session()
    run = runs.skip(session, run_id=run_id, position=position, reason=body["reason"], actor=current_actor(),
                    source=Source.API, where=_where(), now=clock.now())
    session.commit()
    return run_json(session, run)


def _start(incident_id: int | None, mode: str, body: dict):
    session = db_session()
    run = runs.start(session, incident_id=incident_id, mode=mode, actor=current_actor(), source=Source.API,
                     where=_where(), now=clock.now(), summary=body.get("summary"), actions=body.get("actions"))
    session.commit()
    return run_json(session, run)


def run_summary(run: PlaybookRun) -> dict:
    return {"id": run.id, "incident_id": run.incident_id, "mode": run.mode, "state": run.state,
            "started_by": run.started_by, "started_at": run.started_at, "finished_at": run.finished_at,
            "error": run.error}


def run_json(session, run: PlaybookRun) -> dict:
    """The run as the API shows it: never a secret, only the labels of keys waiting to be shown."""
    counts = dict(session.execute(select(PlaybookNotice.state, func.count()).where(PlaybookNotice.run_id == run.id)
                                  .group_by(PlaybookNotice.state)).all())
    waiting = session.scalars(select(RevealedSecret.label).where(RevealedSecret.run_id == run.id,
                                                                 RevealedSecret.ciphertext.is_not(None))
                              .order_by(RevealedSecret.id))
    steps = [{"position": s.position, "kind": s.kind, "title": s.title, "state": s.state,
              "started_at": s.started_at, "finished_at": s.finished_at, "actor": s.actor, "summary": s.summary,
              "error": s.error, "skip_reason": s.skip_reason, "attempts": s.attempts} for s in run.steps]
    return {**run_summary(run), "aware_at": run.aware_at, "steps": steps,
            "notices": {state.value: counts.get(state.value, 0) for state in rules.NoticeState},
            "keys_waiting": list(waiting),
            "report": run.report if run.state == rules.RunState.DONE and run.report.get("steps") else None}


def _where() -> audit.Where:
    return audit.Where("api", request.remote_addr)
