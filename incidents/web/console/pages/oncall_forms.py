"""The on-call page's form and its time handling: local date-times in a rotation's time zone."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from incidents.domain.working_hours import zone

EXAMPLE = "2026-11-23T09:00"
YEARS = (2000, 2100)  # far beyond any cover someone plans; keeps zone arithmetic clear of datetime's limits


class OverrideForm(FlaskForm):
    # The choice is checked by the service (an active user), so a stale list gives a clear message.
    user = SelectField("Who covers", validate_choice=False, validators=[DataRequired(), Length(max=254)])
    start = StringField("From", validators=[DataRequired(), Length(max=32)],
                        render_kw={"type": "datetime-local", "required": True})
    end = StringField("Until", validators=[DataRequired(), Length(max=32)],
                      render_kw={"type": "datetime-local", "required": True})


def override_form(users, **kwargs) -> OverrideForm:
    form = OverrideForm(**kwargs)
    form.user.choices = [SelectChoice("", "Choose someone")] + [
        SelectChoice(u.email, f"{u.name} ({u.email})") for u in users]
    return form


def local_instant(text: str, tz_name: str) -> datetime:
    """'2026-11-23T09:00' as wall time in the zone -> the UTC instant; ValueError says what is wrong.

    A wall time the zone skips (clocks go forward) is refused rather than moved; one it repeats
    (clocks go back) means its first occurrence.
    """
    try:
        wall = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time; expected one like {EXAMPLE}") from None
    if wall.tzinfo is not None:
        raise ValueError(f"give the local time without an offset, like {EXAMPLE}")
    if not YEARS[0] <= wall.year <= YEARS[1]:
        raise ValueError(f"the year must be between {YEARS[0]} and {YEARS[1]}")
    tz = zone(tz_name)
    instant = wall.replace(tzinfo=tz, fold=0)
    if instant.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != wall:
        raise ValueError(f"{wall:%Y-%m-%d %H:%M} does not exist in {tz_name} (the clocks go forward "
                         "then); choose another time")
    return instant.astimezone(timezone.utc)


def parse_range(form: OverrideForm, tz_name: str) -> tuple[datetime, datetime] | None:
    """The form's start and end as UTC instants; None with errors on the fields when they are bad."""
    parsed = {}
    for field in (form.start, form.end):
        try:
            parsed[field.name] = local_instant(field.data or "", tz_name)
        except ValueError as error:
            field.errors = [*field.errors, str(error)]
    if len(parsed) < 2:
        return None
    if parsed["end"] <= parsed["start"]:
        form.end.errors = [*form.end.errors, "must be after the start"]
        return None
    return parsed["start"], parsed["end"]


def shown(at: datetime, tz_name: str, *, year: bool = False) -> str:
    """An instant as wall time in the zone with its abbreviation: 'Mon 23 Nov 09:00 GMT'."""
    local = at.astimezone(ZoneInfo(tz_name))
    return local.strftime("%a %d %b %Y %H:%M %Z" if year else "%a %d %b %H:%M %Z")


def day(at: datetime, tz_name: str) -> str:
    return at.astimezone(ZoneInfo(tz_name)).strftime("%a %d %b %Y")


def form_value(at: datetime, tz_name: str) -> str:
    """An instant as a datetime-local input's value in the zone."""
    return at.astimezone(ZoneInfo(tz_name)).strftime("%Y-%m-%dT%H:%M")
