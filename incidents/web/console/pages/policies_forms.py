"""The escalation page's forms: step waits and repeats of a policy, and a service's policy."""
from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import FieldList, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from incidents.domain.durations import format_duration, parse_duration
from incidents.models import EscalationPolicy

MAX_STEPS = 50  # far more than any policy has; bounds what a tampered form can make us parse


class TimingForm(FlaskForm):
    delays = FieldList(StringField("Wait before the next step", validators=[DataRequired(), Length(max=16)]),
                       max_entries=MAX_STEPS)
    repeat = IntegerField("Repeat the steps", validators=[InputRequired()],
                          render_kw={"inputmode": "numeric", "min": 0, "max": 100})


class ServicePolicyForm(FlaskForm):
    policy = StringField("Escalation policy", validators=[Length(max=20)])


def timing_form(policy: EscalationPolicy | None = None) -> TimingForm:
    """The submitted form; or, given a policy, one filled with its current values."""
    if policy is None:
        return TimingForm()
    delays = [format_duration(timedelta(seconds=int(step.get("escalate_after", 0)))) for step in policy.steps]
    return TimingForm(formdata=None, data={"delays": delays, "repeat": policy.repeat})


def parsed_delays(form: TimingForm) -> list[timedelta] | None:
    """The waits as durations ('90s', '15m', '1h'); None with errors on the fields when one is bad."""
    found, ok = [], True
    for entry in form.delays.entries:
        try:
            found.append(parse_duration(entry.data or ""))
        except ValueError as error:
            entry.errors = [*entry.errors, str(error)]
            ok = False
    return found if ok else None


def chosen_policy(form: ServicePolicyForm) -> int | None | bool:
    """The policy id chosen, None for "none (default)", False when the value is not an id at all."""
    value = (form.policy.data or "").strip()
    if not value:
        return None
    return int(value) if value.isdigit() else False
