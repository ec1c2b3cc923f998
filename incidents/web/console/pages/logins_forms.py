"""The Sign-ins page's filters (a GET form) and its page cursor."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional

from incidents.web.console.pages.users_forms import choices

OUTCOMES = choices([("", "any"), ("success", "signed in"), ("failures", "failures"), ("throttled", "throttled")])
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CURSOR = re.compile(r"^(\d{1,18})-(\d{1,10})$")


class LoginFilter(Form):
    email = StringField("E-mail", [Optional(), Length(max=254)],
                        render_kw={"maxlength": 254, "placeholder": "exactly as typed", "autocomplete": "off"})
    ip = StringField("IP address", [Optional(), Length(max=45)], render_kw={"maxlength": 45})
    outcome = SelectField("Outcome", choices=OUTCOMES, default="")
    before = StringField("Page", [Optional(), Length(max=40)])


def cursor(at: datetime, row_id: int) -> str:
    """The place after a row, newest first: its time (microseconds since 1970) and id."""
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}-{row_id}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """(at, id) from cursor(); None for none or a mangled one (the first page is shown)."""
    match = _CURSOR.match(text or "")
    if not match:
        return None
    return _EPOCH + timedelta(microseconds=int(match.group(1))), int(match.group(2))
