"""The Audit page's filters (a GET form, shared by the page and its CSV export)."""
from __future__ import annotations

from wtforms import Form, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional


class AuditFilter(Form):
    actor = StringField("Who", [Optional(), Length(max=200)],
                        render_kw={"maxlength": 200, "placeholder": "e-mail, api key …"})
    action = StringField("Action", [Optional(), Length(max=64)],
                         render_kw={"maxlength": 64, "placeholder": "user.set_role or user", "list": "audit-actions"})
    target = StringField("Target contains", [Optional(), Length(max=300)], render_kw={"maxlength": 300})
    before = IntegerField("Page", [Optional(), NumberRange(min=1, max=2**63 - 1)])
