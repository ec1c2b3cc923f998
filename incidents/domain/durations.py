"""Durations as written in vigil.yaml: 90s, 15m, 6h, 2d."""
import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")


def parse_duration(text: str) -> timedelta:
    """Parse '120m' into a timedelta; ValueError names the accepted forms."""
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: expected a number and a unit s, m, h or d, like '90s', '15m', '6h', '2d'")
    amount, unit = match.groups()
    seconds = int(amount) * _UNITS[unit]
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: 7200s -> '2h'."""
    seconds = int(delta.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
