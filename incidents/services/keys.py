"""Secret keys: random, shown once, stored as SHA-256 (they carry 128+ bits, so no slow hash is needed)."""
import hashlib
import secrets


def new_integration_key() -> str:
    # 32 hex characters, the shape of a PagerDuty routing key, which some senders validate.
    return secrets.token_hex(16)


def new_api_key() -> str:
    return "vgl_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def hint(key: str) -> str:
    """The last four characters, to tell keys apart in lists without revealing them."""
    return key[-4:]
