"""The breach_playbook check that needs the database: drill recipients are users (in the file, or
stored and active; with --prune and a users section, in the file)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from incidents.services.apply.document import Document
from incidents.services.apply.playbook_section import drill_recipients
from incidents.services.apply.references import _users


def check(session: Session, document: Document, *, prune: bool) -> list[str]:
    recipients = drill_recipients(document.breach_playbook)
    if not recipients:
        return []
    users = _users(session, document, prune=prune)
    problems = (users.problem(path, email) for path, email in recipients)
    return [problem for problem in problems if problem]
