"""The password policy: length, character classes, not a common or guessable password, maximum age."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 copes with more, but nobody types it and it bounds the work per attempt
SYMBOLS = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ")


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(FREQUENCY_LISTS["passwords"])


def problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Every way the password falls short of the policy, in words a person can act on; [] if none."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        found.append(f"at most {MAX_LENGTH} characters")
    if not any(c.isupper() for c in password):
        found.append("an upper-case letter")
    if not any(c.islower() for c in password):
        found.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        found.append("a digit")
    if not any(c in SYMBOLS or not c.isalnum() for c in password):
        found.append("a symbol")
    if found:
        return ["Use " + ", ".join(found) + "."]
    if password.lower() in _common() or _guessable(password, email, name):
        return ["This password is too common or too easy to guess; choose another."]
    return []


def _guessable(password: str, email: str, name: str) -> bool:
    """zxcvbn's estimate below 'safely unguessable' (score 3) counts as too easy to guess."""
    from zxcvbn import zxcvbn
    hints = [part for part in (email, email.split("@")[0], *name.split()) if part]
    return zxcvbn(password[:100], user_inputs=hints)["score"] < 3


def expired(changed_at: datetime | None, *, max_age: timedelta | None, now: datetime) -> bool:
    """A password older than the maximum age must be changed at the next sign-in."""
    if max_age is None:
        return False
    return changed_at is None or now - changed_at >= max_age
