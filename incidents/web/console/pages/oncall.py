"""On call: who covers each rotation now and next, six weeks of shifts, overrides, calendar feeds."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import quote

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from incidents import clock
from incidents.domain.permissions import Permission
from incidents.domain.rotation import Shift
from incidents.domain.working_hours import DAY_NAMES, local_instant, zone
from incidents.models import Rotation, User
from incidents.services import oncall
from incidents.services.errors import Invalid
from incidents.web.console import bp
from incidents.web.console.guard import actor, requires, where
from incidents.web.console.pages.config_forms import place_error
from incidents.web.console.pages.oncall_forms import day, form_value, override_form, parse_range, shown
from incidents.web.session import db_session

WEEKS = 6
ROTATION = "/oncall/<string(maxlength=100):name>"
KEY_PLACEHOLDER = "YOUR_READ_KEY"


@dataclass
class Cover:
    """Someone covering a rotation from `start` to `end` (a whole stretch, overrides joined)."""

    user: User | None
    email: str
    start: datetime
    end: datetime
    override: bool


@dataclass
class Week:
    start: datetime
    shifts: list[Shift] = field(default_factory=list)


@dataclass
class Summary:
    rotation: Rotation
    now: Cover | None
    next: Cover | None
    handoff: str


@bp.get("/oncall", endpoint="oncall")
@requires(Permission.VIEW)
def oncall_page():
    session, now = db_session(), clock.now()
    rotations = [summary(session, r, now) for r in oncall.list_rotations(session)]
    return render_template("console/oncall.html", rotations=rotations, shown=shown)


@bp.get(ROTATION, endpoint="rotation")
@requires(Permission.VIEW)
def rotation_page(name: str):
    return _render_rotation(name)


@bp.post(ROTATION + "/overrides", endpoint="add_override")
@requires(Permission.EDIT_ONCALL)
def add_override(name: str):
    session = db_session()
    rotation = oncall.get(session, name)
    form = override_form(oncall.active_users(session))
    window = parse_range(form, rotation.timezone) if form.validate_on_submit() else None
    if window is None:
        return _render_rotation(name, form=form, status=422)
    now = clock.now()
    try:
        row = oncall.add_override(session, rotation_name=rotation.name, user_email=form.user.data,
                                  start=window[0], end=window[1], actor_label=actor().label, now=now,
                                  actor=actor(), where=where(), planned=True)
    except Invalid as error:
        session.rollback()
        return _render_rotation(name, form=form, error=place_error(form, error.message), status=422)
    overlapping = [o for o in rotation.overrides if o.id != row.id and o.start < row.end and row.start < o.end]
    session.commit()
    tz = rotation.timezone
    message = (f"Override added: {row.user.name} covers {rotation.name} from {shown(row.start, tz)} "
               f"until {shown(row.end, tz)}.")
    if overlapping:
        message += (f" It overlaps {len(overlapping)} other override(s); where overrides overlap, "
                    "the one that starts later wins.")
    flash(message, "success")
    return redirect(url_for("console.rotation", name=rotation.name), code=303)


@bp.post(ROTATION + "/overrides/<int(min=1, max=2147483647):override_id>/remove",
         endpoint="remove_override")
@requires(Permission.EDIT_ONCALL)
def remove_override(name: str, override_id: int):
    session = db_session()
    oncall.remove_override(session, rotation_name=name, override_id=override_id, actor=actor(),
                           where=where(), now=clock.now())
    session.commit()
    flash("Override removed; the regular rotation covers that time again.", "success")
    return redirect(url_for("console.rotation", name=name), code=303)


# --- building the pages ------------------------------------------------------------------------

def _render_rotation(name: str, *, form=None, error: str | None = None, status: int = 200):
    session, now = db_session(), clock.now()
    rotation = oncall.get(session, name)
    if form is None and current_user.can(Permission.EDIT_ONCALL):
        form = _blank_form(session, rotation, now)
    weeks = calendar_weeks(rotation, now)
    emails = {s.user for week in weeks for s in week.shifts} | {o.user.email for o in rotation.overrides}
    page = render_template(
        "console/oncall_rotation.html", summary=summary(session, rotation, now), weeks=weeks,
        overrides=[o for o in rotation.overrides if o.end > now], form=form, error=error,
        users=oncall.users_by_email(session, emails), feeds=feed_urls(rotation), shown=shown, day=day,
        tz=rotation.timezone, placeholder=KEY_PLACEHOLDER, api_keys_url=_api_keys_url())
    return page, status


def _blank_form(session, rotation: Rotation, now: datetime):
    """The form with its times suggested: from the next full hour, for twelve hours."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    form = override_form(oncall.active_users(session), formdata=None)
    form.start.data = form_value(start, rotation.timezone)
    form.end.data = form_value(start + timedelta(hours=12), rotation.timezone)
    return form


def summary(session, rotation: Rotation, now: datetime) -> Summary:
    """Who covers now (until when) and who is next."""
    current = _cover(session, rotation, now)
    if current is not None:
        upcoming = _cover(session, rotation, current.end)
    else:  # before the first shift: the first one to come
        first = next((s for s in oncall.shifts(rotation, now, now + WEEKS * timedelta(weeks=1))
                      if s.start > now), None)
        upcoming = _cover(session, rotation, first.start) if first else None
    handoff = f"{DAY_NAMES[rotation.handoff_weekday].title()} {rotation.handoff_time}"
    return Summary(rotation, current, upcoming, handoff)


def _cover(session, rotation: Rotation, at: datetime) -> Cover | None:
    found = oncall.oncall_at(session, rotation, at)
    if found is None:
        return None
    user, shift = found
    return Cover(user, shift.user, shift.start, shift.end, shift.override)


def calendar_weeks(rotation: Rotation, now: datetime) -> list[Week]:
    """The shifts from the start of this week (Monday, the rotation's time zone) for WEEKS weeks,
    each under the week it starts in (the one running now under the first week)."""
    tz = zone(rotation.timezone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    weeks = [Week(local_instant(monday + timedelta(weeks=i), time(0), tz)) for i in range(WEEKS)]
    end = local_instant(monday + timedelta(weeks=WEEKS), time(0), tz)
    for shift in oncall.shifts(rotation, weeks[0].start, end):
        index = max(0, (shift.start.astimezone(tz).date() - monday).days // 7)
        weeks[min(index, WEEKS - 1)].shifts.append(shift)
    return weeks


def _api_keys_url() -> str | None:
    """The API keys page, for admins, once it exists."""
    if current_user.can(Permission.ADMIN) and "console.api_keys" in current_app.view_functions:
        return url_for("console.api_keys")
    return None


def feed_urls(rotation: Rotation) -> dict[str, str]:
    """The iCalendar feeds (incidents.web.rotations) as URLs to paste into a calendar app."""
    public = current_app.config["VIGIL"].public_url.rstrip("/")
    me = current_user.user.email
    return {
        "rotation": f"{public}/api/v1/rotations/{quote(rotation.name, safe='')}/calendar.ics"
                    f"?key={KEY_PLACEHOLDER}",
        "mine": f"{public}/api/v1/users/{quote(me, safe='@')}/calendar.ics?key={KEY_PLACEHOLDER}",
    }
