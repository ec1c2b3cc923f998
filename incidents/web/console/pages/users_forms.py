"""Forms of the Users page: invite someone, change a role."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from incidents.domain.enums import Role

try:  # WTForms 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return value, label


def choices(pairs) -> list:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


ROLE_CHOICES = choices((r.value, r.value.replace("_", " ")) for r in Role)
ROLE_HINT = "viewer: reads; responder: + acknowledge, resolve, comment; ops engineer: + assign, " \
            "reclassify, escalate, edit on-call; admin: everything, including users and keys."


class InviteForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired("Enter the e-mail address to invite."),
                                             Length(max=254)],
                       render_kw={"autocomplete": "off", "maxlength": 254})
    name = StringField("Name (optional)", validators=[Optional(), Length(max=200)],
                       render_kw={"maxlength": 200})
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.RESPONDER.value)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


def first_error(form: FlaskForm) -> str:
    """One line naming the field and what is wrong with it."""
    for name, messages in form.errors.items():
        if name == "csrf_token":
            return "The form expired. Reload the page and try again."
        label = getattr(form, name).label.text
        message = "choose one of the listed values." if messages[0] == "Not a valid choice." else messages[0]
        return f"{label}: {message}"
    return "Check the form and try again."
