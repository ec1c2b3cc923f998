"""SCRAM-SHA-256 password verifiers computed on our side, as PostgreSQL computes them
(src/common/scram-common.c), so `ALTER ROLE ... PASSWORD '<verifier>'` sets a password without the
plaintext ever reaching the server, its logs or pg_stat_statements.

The generated passwords are ASCII (secrets.token_urlsafe), for which SASLprep changes nothing.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
SALT_BYTES = 16


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """'SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>', base64 throughout."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    stored_key, server_key = _keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def matches(password: str, stored: str) -> bool:
    """Whether a verifier (as in pg_authid.rolpassword) is the one for `password`."""
    try:
        method, rest = stored.split("$", 1)
        params, keys = rest.split("$", 1)
        iterations, salt = params.split(":", 1)
        stored_key, server_key = keys.split(":", 1)
        expected = _keys(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return (method == "SCRAM-SHA-256"
            and hmac.compare_digest(_b64(expected[0]), stored_key)
            and hmac.compare_digest(_b64(expected[1]), server_key))


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest(), server_key


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
