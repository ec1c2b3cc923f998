"""The customer page's form: response minutes per class (blank: the default) and uptime target."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField
from wtforms.validators import Optional

from incidents.models import Customer

NUMBER = {"inputmode": "numeric", "min": 1, "max": 43200, "step": 1}


class TermsForm(FlaskForm):
    class_1 = IntegerField("Class 1 response (minutes)", validators=[Optional()], render_kw=NUMBER)
    class_2 = IntegerField("Class 2 response (minutes)", validators=[Optional()], render_kw=NUMBER)
    class_3 = IntegerField("Class 3 response (minutes)", validators=[Optional()], render_kw=NUMBER)
    uptime_target = FloatField("Uptime target (% per month)", validators=[Optional()],
                               render_kw={"inputmode": "decimal", "min": 90, "max": 100, "step": "any"})

    def minutes(self) -> dict[int, int | None]:
        return {1: self.class_1.data, 2: self.class_2.data, 3: self.class_3.data}


def terms_form(customer: Customer | None = None) -> TermsForm:
    """The submitted form; or, given a customer, one filled with its tailored terms."""
    if customer is None:
        return TermsForm()
    table = customer.sla_minutes or {}
    return TermsForm(formdata=None, data={"class_1": table.get("1"), "class_2": table.get("2"),
                                          "class_3": table.get("3"), "uptime_target": customer.uptime_target})
