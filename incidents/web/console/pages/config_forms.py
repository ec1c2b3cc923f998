"""What the configuration pages (on call, escalation, services, customers) share about forms."""
from __future__ import annotations

from flask_wtf import FlaskForm


def place_error(form: FlaskForm, message: str) -> str | None:
    """Put a service's "field: message" under its field; what names no field is returned for
    the page's error box."""
    name, colon, text = message.partition(": ")
    field = getattr(form, name, None) if colon else None
    if field is not None and hasattr(field, "errors") and name != "meta":
        field.errors = [*field.errors, text]
        return None
    return message


def first_error(form: FlaskForm) -> str:
    """One line naming the first field that is wrong (for a flash after a redirect)."""
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return "Check the form and try again."
