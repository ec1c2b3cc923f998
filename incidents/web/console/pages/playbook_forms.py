"""Forms of the breach playbook pages. Everything that starts a run or shows a key asks for the
admin's current authenticator code again: a session left open is not enough to declare a breach."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

MAX_SUMMARY = 1000
MAX_ACTIONS = 2000
MAX_REASON = 500  # playbook_steps.skip_reason
MAX_REFERENCE = 200  # regulator_clocks.reference


def _code(label: str = "Authenticator code"):
    return StringField(label, validators=[
        DataRequired(message="Enter the current code from your authenticator app."), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": 32,
                   "pattern": "[0-9 ]*", "size": 8})


class CodeForm(FlaskForm):
    code = _code()


class StartForm(CodeForm):
    summary = TextAreaField("What happened (the notice's {summary})", validators=[
        DataRequired(message="Say in a sentence what happened; customers read it in the notice."),
        Length(max=MAX_SUMMARY, message=f"The summary is at most {MAX_SUMMARY:,} characters.")],
        render_kw={"rows": 2, "maxlength": MAX_SUMMARY})
    actions = TextAreaField("What we are doing (the notice's {actions})", validators=[
        Optional(), Length(max=MAX_ACTIONS, message=f"The actions are at most {MAX_ACTIONS:,} characters.")],
        render_kw={"rows": 2, "maxlength": MAX_ACTIONS,
                   "placeholder": "Leave empty for a sentence naming the configured steps"})


class DrillForm(CodeForm):
    summary = StringField("Drill summary (optional)", validators=[
        Optional(), Length(max=MAX_SUMMARY, message=f"The summary is at most {MAX_SUMMARY:,} characters.")],
        render_kw={"maxlength": MAX_SUMMARY, "placeholder": "Quarterly breach drill"})


class SkipForm(FlaskForm):
    reason = StringField("Why skip this step", validators=[
        DataRequired(message="Say why the step is skipped; the reason is kept with the run."),
        Length(max=MAX_REASON, message=f"The reason is at most {MAX_REASON} characters.")],
        render_kw={"maxlength": MAX_REASON, "placeholder": "e.g. done by hand, ticket SEC-12"})


class RegulatorForm(FlaskForm):
    reference = StringField("Authority's case reference", validators=[
        DataRequired(message="Give the authority's case reference (or how it was notified)."),
        Length(max=MAX_REFERENCE, message=f"The reference is at most {MAX_REFERENCE} characters.")],
        render_kw={"maxlength": MAX_REFERENCE, "placeholder": "e.g. ICO case 00123"})


def first_error(form) -> str:
    return next(iter(e for errors in form.errors.values() for e in errors), "Check the form.")
