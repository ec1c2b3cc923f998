"""Encrypting secrets Vigil must keep readable (TOTP secrets, new keys waiting to be shown, the
embedded secret store) so that the database alone does not give them away.

Fernet (AES-128-CBC with HMAC-SHA256) under the keys in VIGIL_ENCRYPTION_KEYS, newest first: a value
is sealed with the newest and opened with whichever key made it (MultiFernet), so a new key can be
put in front and `vigil rotate-key` moves every value onto it. Without that setting the key is
derived from SECRET_KEY with HKDF, as before it existed; that key stays the last one tried, so values
sealed under it still open after VIGIL_ENCRYPTION_KEYS is set (until rotate-key re-seals them).

"The app's key material" is a Keyring, or SECRET_KEY itself (a str) for callers that have only that.
"""
from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Sequence, Union

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"vigil sealed secrets v1"
FERNET_VERSION = 0x80  # a Fernet token's first byte


class SealError(Exception):
    """A sealed value that no key can open (another key, or tampered with). Never quotes the value."""


class Keyring:
    """Fernet keys, newest first: seal with the first, open with any. Its repr names no key."""

    def __init__(self, fernet_keys: Sequence[str], *, secret_key: str):
        self._keys = [Fernet(k) for k in fernet_keys] + [_derived(secret_key)]
        self._multi = MultiFernet(self._keys)
        self.configured = bool(fernet_keys)  # False: only the key derived from SECRET_KEY

    def __repr__(self) -> str:
        source = f"{len(self._keys) - 1} from VIGIL_ENCRYPTION_KEYS" if self.configured else "derived from SECRET_KEY"
        return f"Keyring({source})"

    def seal(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError, UnicodeError):
            raise SealError(f"the sealed value cannot be opened with {self.describe()}") from None

    def is_current(self, token: str) -> bool:
        """Whether the newest key opens it, so re-sealing would change nothing."""
        try:
            self._keys[0].decrypt(token.encode("ascii"))
            return True
        except (InvalidToken, ValueError, UnicodeError):
            return False

    def describe(self) -> str:
        return ("any key in VIGIL_ENCRYPTION_KEYS or the key derived from SECRET_KEY" if self.configured
                else "the key derived from this SECRET_KEY (VIGIL_ENCRYPTION_KEYS is not set)")


KeyMaterial = Union[Keyring, str]


def keyring(config: Any) -> Keyring:
    """The app's keys from its settings (config.Config): VIGIL_ENCRYPTION_KEYS, else SECRET_KEY's."""
    return Keyring(config.encryption_keys, secret_key=config.secret_key)


def setup_warning(config: Any) -> str | None:
    """What to tell an admin about the encryption key, or None when it is set."""
    if config.encryption_keys:
        return None
    return ("VIGIL_ENCRYPTION_KEYS is not set: TOTP secrets and stored secrets are encrypted with a key "
            "derived from SECRET_KEY. Set VIGIL_ENCRYPTION_KEYS to a Fernet key of its own "
            "(see README, 'Secrets at rest') and run `vigil rotate-key`.")


def warn_at_start(config: Any, log: logging.Logger) -> None:
    """A production start (PostgreSQL; `vigil up`'s embedded default is exempt) without
    VIGIL_ENCRYPTION_KEYS logs the setup warning once."""
    warning = setup_warning(config)
    if warning and not config.testing and not config.is_sqlite:
        log.warning(warning)


def seal(keys: KeyMaterial, plaintext: str) -> str:
    return _ring(keys).seal(plaintext)


def unseal(keys: KeyMaterial, token: str) -> str:
    return _ring(keys).unseal(token)


def is_sealed(value: str) -> bool:
    """Whether a stored value has a Fernet token's shape (a legacy clear TOTP secret does not:
    base32 has no lowercase letters, so it cannot start with Fernet's "gAAAAA")."""
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        return False
    return len(raw) >= 57 and raw[0] == FERNET_VERSION


def _ring(keys: KeyMaterial) -> Keyring:
    if isinstance(keys, Keyring):
        return keys
    if isinstance(keys, str) and keys:
        return Keyring((), secret_key=keys)
    raise SealError("no key to seal or open secrets with (SECRET_KEY is not available)")


def _derived(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))
