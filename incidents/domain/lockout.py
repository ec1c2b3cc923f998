"""Failed sign-ins slow down, then lock, per account (the e-mail tried) and per IP address.

Pure: given the failures that count (newest last) and now, say whether another attempt may be made
and, if not, for how long to wait. The same answer is given whether or not the account exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    window: timedelta = timedelta(minutes=15)
    free_attempts: int = 3           # failures before any slow-down
    account_lock_after: int = 10     # failures in the window that lock the account
    ip_lock_after: int = 30          # failures in the window that lock the address
    lock_for: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(seconds=60)


def wait(failures: list[datetime], *, lock_after: int, now: datetime,
         policy: LockoutPolicy = LockoutPolicy()) -> timedelta:
    """How long until another attempt may be made (zero if now). `failures` are those since the
    last success, oldest first. `lock_after` failures within one window lock for `lock_for` from
    the last of them; fewer slow down, doubling the wait per failure past the free ones."""
    if not failures:
        return timedelta(0)
    last = failures[-1]
    burst = [at for at in failures if last - at < policy.window]
    if len(burst) >= lock_after and last + policy.lock_for > now:
        return last + policy.lock_for - now
    recent = [at for at in failures if now - at < policy.window]
    over = len(recent) - policy.free_attempts
    if over < 0:
        return timedelta(0)
    delay = min(timedelta(seconds=2 ** over), policy.max_delay)  # 1 s, 2 s, 4 s ... capped
    return max(last + delay - now, timedelta(0))


def describe(delay: timedelta) -> str:
    seconds = max(1, round(delay.total_seconds()))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"
