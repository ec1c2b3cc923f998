"""Parsers for how SLA clocks run: a customer's `sla_clock` per class and the top-level `sla_warnings`."""
from __future__ import annotations

import re
from typing import Any

from incidents.domain.response_clock import TWENTY_FOUR_SEVEN, WORKING_HOURS
from incidents.services.apply import fields
from incidents.services.apply.fields import Problems

# How a clock may be written; "24/7" is how people say it.
CLOCK_NAMES = {TWENTY_FOUR_SEVEN: TWENTY_FOUR_SEVEN, "24/7": TWENTY_FOUR_SEVEN, WORKING_HOURS: WORKING_HOURS}
# Warnings are outbox pages under steps WARNING_STEP - i (engine/sla_sweep.py); five stay clear of BREACH_STEP.
MAX_WARNINGS = 5
PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")
WARNINGS_HINT = "expected shares of the response time like [50%, 80%]"


def parse_sla_clock(p: Problems, path: str, value: Any) -> dict[str, str] | None:
    """{class: 24x7 | working_hours} stored as {"3": "working_hours"}: only the working-hours classes,
    since a class not named runs 24x7 (so `{1: 24x7}` and nothing are one and the same)."""
    if not isinstance(value, dict):
        p.error(path, f"expected a mapping of severity class to clock, like {{3: {WORKING_HOURS}}}, "
                      f"got {fields.describe(value)}")
        return None
    kinds: dict[str, str] = {}
    for key, name in value.items():
        where = fields.join(path, key)
        severity_class = fields.severity_class(p, where, key)
        kind = CLOCK_NAMES.get(name.strip().lower()) if isinstance(name, str) else None
        if kind is None:
            p.error(where, f"unknown clock {name!r}; expected {TWENTY_FOUR_SEVEN} or {WORKING_HOURS}")
        if severity_class is not None and kind == WORKING_HOURS:
            kinds[str(severity_class)] = kind
    return dict(sorted(kinds.items()))


def parse_sla_warnings(p: Problems, path: str, value: Any) -> tuple[float, ...] | None:
    """Shares of the response time at which, with no response yet, people are warned: '50%' (or
    0.5), each above 0% and below 100%, strictly increasing, at most MAX_WARNINGS; [] for none."""
    if not isinstance(value, list):
        p.error(path, f"expected a list, got {fields.describe(value)}; {WARNINGS_HINT}")
        return None
    if len(value) > MAX_WARNINGS:
        p.error(path, f"at most {MAX_WARNINGS} warnings, got {len(value)}")
        return None
    before = len(p.errors)
    shares = [_share(p, where, item) for where, item in fields.items(p, path, value)]
    if len(p.errors) > before:
        return None
    for index, (earlier, later) in enumerate(zip(shares, shares[1:]), start=1):
        if later <= earlier:
            p.error(f"{path}[{index}]", f"{_percent(later)} does not come after {_percent(earlier)}; "
                                        "list the shares in increasing order, each once")
            return None
    return tuple(shares)


def _share(p: Problems, path: str, value: Any) -> float | None:
    """'80%' or 0.8 as 0.8; a bare 80 is refused, since 80 times the response time is surely not meant."""
    if isinstance(value, str) and PERCENT.match(value):
        share = float(PERCENT.match(value).group(1)) / 100
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1:
        share = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 100:
        p.error(path, f"write {value:g}% (with the percent sign) or {value / 100:g}")
        return None
    else:
        p.error(path, f"invalid share {value!r}; {WARNINGS_HINT}")
        return None
    if not 0 < share < 1:
        p.error(path, f"{_percent(share)} is not above 0% and below 100% of the response time "
                      "(the deadline itself is the breach)")
        return None
    return share


def _percent(share: float) -> str:
    return f"{share * 100:g}%"
