"""Forms of the incident pages: every text field bounded, so overlong input gets a message, not a 500.

Choices are filled by the views from the database. Whether a user or a class is acceptable is the
service's to say (one rule for API, Slack, SMS and console), so the selects do not refuse values
themselves: a tampered or stale value reaches the service and comes back as its clear message.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from incidents.services.lifecycle import MAX_COMMENT
from incidents.services.sla_clock import MAX_REASON as MAX_PAUSE_REASON

CLASS_CHOICES = [SelectChoice(n, f"Class {n}") for n in (1, 2, 3)]
MAX_EMAIL = 254
MAX_REASON = 1000
MAX_TITLE = 500
MAX_DESCRIPTION = 10_000


def _class(value):
    """'2' -> 2; anything else is kept as given so the service names what is wrong with it."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class CommentForm(FlaskForm):
    text = TextAreaField("Comment", validators=[
        DataRequired(message="Write something to add a comment."),
        Length(max=MAX_COMMENT, message=f"A comment is at most {MAX_COMMENT:,} characters.")],
        render_kw={"rows": 3, "maxlength": MAX_COMMENT})


class AssignForm(FlaskForm):
    assignee = SelectField("Assign to", validate_choice=False, validators=[
        DataRequired(message="Choose who to assign."), Length(max=MAX_EMAIL)])


class ReclassifyForm(FlaskForm):
    severity_class = SelectField("Class", choices=CLASS_CHOICES, coerce=_class, validate_choice=False)
    reason = StringField("Reason", validators=[
        DataRequired(message="Say why the class changes."),
        Length(max=MAX_REASON, message=f"The reason is at most {MAX_REASON:,} characters.")],
        render_kw={"maxlength": MAX_REASON, "placeholder": "Why the class changes"})


class PauseForm(FlaskForm):
    reason = StringField("Why pause the SLA clock", validators=[
        DataRequired(message="Say why the SLA clock stops, e.g. waiting on the customer."),
        Length(max=MAX_PAUSE_REASON, message=f"The reason is at most {MAX_PAUSE_REASON:,} characters.")],
        render_kw={"maxlength": MAX_PAUSE_REASON, "placeholder": "e.g. waiting on the customer"})


class ReportForm(FlaskForm):
    title = StringField("Title", validators=[
        DataRequired(message="Give the problem a title."),
        Length(max=MAX_TITLE, message=f"The title is at most {MAX_TITLE} characters.")],
        render_kw={"maxlength": MAX_TITLE, "autofocus": True})
    description = TextAreaField("What is happening", validators=[
        Optional(), Length(max=MAX_DESCRIPTION, message=f"The description is at most {MAX_DESCRIPTION:,} characters.")],
        render_kw={"rows": 6, "maxlength": MAX_DESCRIPTION})
    customer = SelectField("Customer", validate_choice=False, validators=[
        DataRequired(message="Choose the customer affected."), Length(max=64)])
    service = SelectField("Service (if known)", validate_choice=False, validators=[Optional(), Length(max=100)])
