"""Applying a checked document: everything the file describes, in one transaction the caller commits."""
from __future__ import annotations

from sqlalchemy.orm import Session

from incidents.services.apply import checks, heartbeats, playbook_checks, references
from incidents.services.apply.customers import customers_by_slug, delete_customers, sync_customers
from incidents.services.apply.document import Document
from incidents.services.apply.policies import delete_policies, policies_by_name, sync_policies
from incidents.services.apply.result import ApplyFailed, ApplyResult
from incidents.services.apply.rotations import delete_rotations, sync_rotations
from incidents.services.apply.rules import sync_rules
from incidents.services.apply.services import delete_services, sync_services
from incidents.services.apply.settings import (default_timezone, sync_breach_playbook, sync_sla, sync_sla_warnings,
                                              sync_timezone, sync_working_hours)
from incidents.services.apply.users import sync_users


def apply_document(session: Session, document: Document, *, prune: bool, public_url: str) -> ApplyResult:
    """Create or update what the document describes; with `prune`, remove what it leaves out.

    Raises ApplyFailed with every error (the document's and the database checks') before writing
    anything. Does not commit.
    """
    errors = document.errors + checks.check(session, document, prune=prune)
    errors += references.check(session, document, prune=prune)
    errors += playbook_checks.check(session, document, prune=prune)
    errors += heartbeats.check(session, document.heartbeats, _service_names(document), prune=prune)
    if errors:
        raise ApplyFailed(errors)
    result = ApplyResult(warnings=document.warnings + references.warnings(session, document)
                         + checks.warnings(session, document))
    _settings(session, document, result)
    if document.customers is not None:
        customers = sync_customers(session, document.customers, result)
    else:
        customers = customers_by_slug(session)
    if document.users is not None:
        sync_users(session, document.users, prune=prune, result=result)
    if document.classification is not None:
        sync_rules(session, document.classification, result)
    _paging(session, document, prune=prune, public_url=public_url, customers=customers, result=result)
    if document.breach_playbook is not None:
        sync_breach_playbook(session, document.breach_playbook, result)
    if document.heartbeats is not None:  # after the services they watch
        heartbeats.sync_heartbeats(session, document.heartbeats, prune=prune, public_url=public_url, result=result)
    if prune:
        _prune(session, document, result)
    session.flush()
    return result


def _service_names(document: Document) -> set[str] | None:
    return None if document.services is None else {s.name for s in document.services}


def _settings(session: Session, document: Document, result: ApplyResult) -> None:
    if document.timezone is not None:
        sync_timezone(session, document.timezone, result)
    if document.sla is not None:
        sync_sla(session, document.sla, result)
    if document.sla_warnings is not None:
        sync_sla_warnings(session, document.sla_warnings, result)
    if document.working_hours is not None:
        zone = default_timezone(session, document.timezone)
        sync_working_hours(session, document.working_hours.stored(zone), result)


def _paging(session: Session, document: Document, *, prune: bool, public_url: str, customers, result) -> None:
    """Rotations (their members are users), then policies (they page rotations), then the services
    that use the policies."""
    if document.rotations is not None:
        sync_rotations(session, document.rotations, default_timezone=default_timezone(session, document.timezone),
                       result=result)
    if document.escalation_policies is not None:
        policies = sync_policies(session, document.escalation_policies, result)
    else:
        policies = policies_by_name(session)
    if document.services is not None:
        sync_services(session, document.services, customers, policies, prune=prune, public_url=public_url,
                      result=result)


def _prune(session: Session, document: Document, result: ApplyResult) -> None:
    """Services first (they use policies), then policies (they page rotations), rotations and customers."""
    session.flush()  # services have moved to their new customers and policies before anything goes
    delete_services(session, checks.services_to_delete(session, document), result)
    session.flush()
    delete_policies(session, references.policies_to_delete(session, document), result)
    session.flush()
    delete_rotations(session, references.rotations_to_delete(session, document), result)
    session.flush()
    delete_customers(session, checks.customers_to_delete(session, document), result)
