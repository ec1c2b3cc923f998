"""Configuration as code: `vigil apply vigil.yaml` creates or updates what the file describes.

read_document(path) checks the file; apply_document(session, document, prune=..., public_url=...)
writes it (or raises ApplyFailed with every error, writing nothing); the caller commits once.
"""
from incidents.services.apply.document import Document, read_document
from incidents.services.apply.result import ApplyFailed, ApplyResult
from incidents.services.apply.run import apply_document

__all__ = ["ApplyFailed", "ApplyResult", "Document", "apply_document", "read_document"]
