"""What each console role may do; checked on every console route, server side."""
from __future__ import annotations

from enum import StrEnum

from incidents.domain.enums import Role


class Permission(StrEnum):
    VIEW = "view"                # read everything an engineer needs
    RESPOND = "respond"          # acknowledge, resolve, comment
    WORK = "work"                # assign, reclassify, escalate, reopen, triage, report
    EDIT_ONCALL = "edit_oncall"  # rotations, overrides, escalation policies
    ADMIN = "admin"              # users, API keys, services, customers, login records, audit


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.RESPONDER: frozenset({Permission.VIEW, Permission.RESPOND}),
    Role.OPS_ENGINEER: frozenset({Permission.VIEW, Permission.RESPOND, Permission.WORK, Permission.EDIT_ONCALL}),
    Role.ADMIN: frozenset(Permission),
}

ROLE_LABELS = {
    Role.ADMIN: "Admin — everything",
    Role.OPS_ENGINEER: "Ops engineer — work incidents, edit rotations and policies",
    Role.RESPONDER: "Responder — acknowledge, resolve, comment",
    Role.VIEWER: "Viewer — read only",
}


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:  # a role this version does not know grants nothing
        return False
