"""The services page's forms, and how to use a new integration key with each monitoring system."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from incidents.services.integrations import MAX_NAME
from incidents.services.maintenance import MAX_REASON

TYPES = {
    "alertmanager": "Prometheus Alertmanager",
    "grafana": "Grafana alerting",
    "pagerduty": "PagerDuty Events API v2 (anything that can page PagerDuty)",
    "generic": "Generic JSON (scripts, curl)",
}


class IntegrationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)],
                       render_kw={"placeholder": "prometheus", "autocomplete": "off"})
    type = SelectField("Sends alerts from", choices=[SelectChoice(value, label) for value, label in TYPES.items()], validators=[DataRequired()])


class MaintenanceForm(FlaskForm):
    starts_at = StringField("From (UTC)", validators=[Length(max=32)],
                            render_kw={"type": "datetime-local", "placeholder": "now"})
    ends_at = StringField("Until (UTC)", validators=[DataRequired(), Length(max=32)],
                          render_kw={"type": "datetime-local", "required": True})
    reason = StringField("Reason", validators=[DataRequired(), Length(max=MAX_REASON)],
                         render_kw={"placeholder": "database upgrade", "autocomplete": "off"})


def usage(integration_type: str, url: str, key: str) -> dict[str, str]:
    """{"how": one line, "snippet": text to paste} for a new key (rendered escaped)."""
    if integration_type == "alertmanager":
        return {"how": "In alertmanager.yml, a receiver that posts to Vigil with the key as a Bearer token:",
                "snippet": (f"receivers:\n  - name: vigil\n    webhook_configs:\n      - url: {url}\n"
                            f"        send_resolved: true\n        http_config:\n          authorization:\n"
                            f"            type: Bearer\n            credentials: {key}\n")}
    if integration_type == "pagerduty":
        return {"how": "Anything that pages PagerDuty: use the key as the routing key (integration key) and "
                       "point the Events API v2 URL at Vigil, e.g. in alertmanager.yml:",
                "snippet": (f"receivers:\n  - name: vigil\n    pagerduty_configs:\n      - routing_key: {key}\n"
                            f"        url: {url}\n")}
    if integration_type == "grafana":
        return {"how": "In Grafana, a webhook contact point with this URL; under optional settings set the "
                       "Authorization header scheme to Bearer and the credentials to the key:",
                "snippet": f"URL: {url}\nAuthorization header scheme: Bearer\nAuthorization header credentials: {key}\n"}
    return {"how": "Post JSON with the key as a Bearer token (summary is required; severity, source, "
                   "dedup_key, status firing/resolved and details are optional):",
            "snippet": (f"curl -sS -X POST {url} \\\n  -H 'Authorization: Bearer {key}' \\\n"
                        "  -H 'Content-Type: application/json' \\\n"
                        "  -d '{\"summary\": \"Disk full on db-1\", \"source\": \"db-1\", \"severity\": \"critical\"}'\n")}
