"""Applying a checked document: everything the file describes, in one transaction the caller commits."""
from __future__ import annotations

from sqlalchemy.orm import Session

from incidents.services.apply import checks
from incidents.services.apply.customers import customers_by_slug, delete_customers, sync_customers
from incidents.services.apply.document import Document
from incidents.services.apply.result import ApplyFailed, ApplyResult
from incidents.services.apply.rules import sync_rules
from incidents.services.apply.services import delete_services, sync_services
from incidents.services.apply.settings import sync_sla, sync_timezone
from incidents.services.apply.users import sync_users


def apply_document(session: Session, document: Document, *, prune: bool, public_url: str) -> ApplyResult:
    """Create or update what the document describes; with `prune`, remove what it leaves out.

    Raises ApplyFailed with every error (the document's and the database checks') before writing
    anything. Does not commit.
    """
    errors = document.errors + checks.check(session, document, prune=prune)
    if errors:
        raise ApplyFailed(errors)
    result = ApplyResult(warnings=list(document.warnings))
    if document.timezone is not None:
        sync_timezone(session, document.timezone, result)
    if document.sla is not None:
        sync_sla(session, document.sla, result)
    if document.customers is not None:
        customers = sync_customers(session, document.customers, result)
    else:
        customers = customers_by_slug(session)
    if document.users is not None:
        sync_users(session, document.users, prune=prune, result=result)
    if document.classification is not None:
        sync_rules(session, document.classification, result)
    if document.services is not None:
        sync_services(session, document.services, customers, prune=prune, public_url=public_url,
                      result=result)
    if prune:
        _prune(session, document, result)
    session.flush()
    return result


def _prune(session: Session, document: Document, result: ApplyResult) -> None:
    session.flush()  # services have moved to their new customers before any customer goes
    delete_services(session, checks.services_to_delete(session, document), result)
    session.flush()
    delete_customers(session, checks.customers_to_delete(session, document), result)
