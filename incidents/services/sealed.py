"""Encrypting secrets Vigil must keep readable (new keys waiting to be shown, the embedded secret
store): Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from SECRET_KEY with HKDF, so the
database alone does not give them away. A dedicated key with rotation comes with the hardening work.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"vigil sealed secrets v1"


class SealError(Exception):
    """A sealed value that this key cannot open (another SECRET_KEY, or tampered with)."""


def fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret_key: str, plaintext: str) -> str:
    return fernet(secret_key).encrypt(plaintext.encode()).decode("ascii")


def unseal(secret_key: str, token: str) -> str:
    try:
        return fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SealError("the sealed value cannot be opened with this SECRET_KEY") from None
