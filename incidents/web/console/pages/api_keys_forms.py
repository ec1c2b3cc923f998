"""The form of the API keys page."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from incidents.domain.enums import Scope
from incidents.services.api_keys import MAX_NAME
from incidents.web.console.pages.users_forms import choices

SCOPE_CHOICES = choices([(Scope.READ.value, "read: list and read incidents"),
                         (Scope.WRITE.value, "write: + report, acknowledge, resolve"),
                         (Scope.ADMIN.value, "admin: + manage API keys")])


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Name the key after what uses it."),
                                           Length(max=MAX_NAME)],
                       filters=[lambda text: text.strip() if text else text],
                       render_kw={"maxlength": MAX_NAME, "placeholder": "grafana-reader", "autocomplete": "off"})
    scope = SelectField("Scope", choices=SCOPE_CHOICES, default=Scope.READ.value)
    customer = SelectField("For", validate_choice=False, validators=[Optional(), Length(max=64)],
                           description="A customer's key reads only that customer's incidents and reports.")
