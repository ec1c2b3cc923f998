"""Checks for single values of vigil.yaml; every problem is recorded with its path in the file."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.domain.durations import parse_duration
from incidents.domain.enums import SEVERITY_CLASSES

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


@dataclass
class Problems:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}")


@dataclass(frozen=True)
class Keys:
    """The keys a mapping may hold: required, optional, and known but not supported yet."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional + self.unsupported


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def mapping(p: Problems, path: str, value: Any, keys: Keys, *, what: str = "a mapping") -> dict | None:
    """The supported keys of a mapping; unknown keys are errors, unsupported ones warnings."""
    if not isinstance(value, dict):
        p.error(path or "(file)", f"expected {what}, got {describe(value)}")
        return None
    fields = {}
    for key, item in value.items():
        if key in keys.unsupported:
            p.warn(join(path, key), "not supported yet; ignored")
        elif key in keys.required or key in keys.optional:
            fields[key] = item
        else:
            p.error(join(path, key), unknown_key(key, keys.known))
    for key in keys.required:
        if fields.get(key) is None:
            p.error(join(path, key), "required")
    return fields


def unknown_key(key: Any, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(known)}"
    return f"unknown key; {hint}"


def items(p: Problems, path: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(path, item) for each item of a list."""
    if not isinstance(value, list):
        p.error(path, f"expected a list, got {describe(value)}")
        return
    for index, item in enumerate(value):
        yield f"{path}[{index}]", item


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    names = {bool: "true/false", int: "a number", float: "a number", str: "text",
             list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def text(p: Problems, path: str, value: Any, *, max_len: int, pattern: re.Pattern | None = None,
         hint: str = "") -> str | None:
    """A non-empty string (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        p.error(path, f"expected text, got {describe(value)}" + (f"; {hint}" if hint else ""))
        return None
    value = value.strip()
    if len(value) > max_len:
        p.error(path, f"longer than {max_len} characters")
    elif pattern is not None and not pattern.match(value):
        p.error(path, f"invalid {value!r}" + (f"; {hint}" if hint else ""))
    else:
        return value
    return None


def choice(p: Problems, path: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        p.error(path, f"invalid {value!r}; expected one of {', '.join(choices)}")
        return None
    return value


def boolean(p: Problems, path: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    p.error(path, f"expected true or false, got {describe(value)}")
    return None


def timezone(p: Problems, path: str, value: Any) -> str | None:
    """An IANA time zone name such as Europe/London."""
    name = text(p, path, value, max_len=64)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        p.error(path, f"unknown time zone {name!r}; expected an IANA name like 'Europe/London'")
        return None
    return name


def email(p: Problems, path: str, value: Any) -> str | None:
    address = text(p, path, value, max_len=254, pattern=EMAIL, hint="expected an e-mail address")
    return address.lower() if address else None


def phone(p: Problems, path: str, value: Any) -> str | None:
    """An E.164 number; YAML reads an unquoted +number as an integer, so say so."""
    if isinstance(value, int) and not isinstance(value, bool):
        p.error(path, f'expected an E.164 number in quotes, like "+{value}"')
        return None
    return text(p, path, value, max_len=16, pattern=E164,
                hint='expected an E.164 number like "+15005550006"')


def severity_class(p: Problems, path: str, value: Any) -> int | None:
    """1, 2 or 3 (YAML may give the number or the text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or value not in SEVERITY_CLASSES:
        p.error(path, f"invalid severity class {value!r}; expected 1, 2 or 3")
        return None
    return value


def seconds(p: Problems, path: str, value: Any) -> int | None:
    """A duration such as '90s', '15m', '6h' or '2d', in seconds."""
    if value is None:
        p.error(path, "expected a duration like '120m', '6h' or '2d'")
        return None
    try:
        return int(parse_duration(value).total_seconds())
    except ValueError as exc:
        p.error(path, str(exc))
        return None


def minutes(p: Problems, path: str, value: Any) -> int | None:
    """A duration such as '120m', '6h' or '2d', in whole minutes."""
    total = seconds(p, path, value)
    if total is not None and total % 60:
        p.error(path, f"invalid duration {value!r}: must be whole minutes")
        return None
    return None if total is None else total // 60


def whole_number(p: Problems, path: str, value: Any, *, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        p.error(path, f"expected a whole number from {low} to {high}, got {value!r}")
        return None
    return value


def iso_date(p: Problems, path: str, value: Any) -> date | None:
    """A date: YAML reads 2026-11-02 as one; text in that form is accepted too."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        p.error(path, f"invalid date {value!r}; expected YYYY-MM-DD, like 2026-11-02")
        return None


def parsed(p: Problems, path: str, parse: Callable[[Any], Any], value: Any) -> Any:
    """parse(value) with a domain parser; None (and the ValueError recorded at path) when it fails."""
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        p.error(path, str(exc))
        return None


def records(p: Problems, path: str, value: Any, keys: Keys, parse: Callable[[Problems, str, dict], Any]) -> list:
    """Parse every item of a list that is a mapping. Fields with problems are None in the spec, so later
    checks (duplicates, references) still run on the rest; a document with errors is never applied."""
    specs = []
    for where, item in items(p, path, value):
        raw = mapping(p, where, item, keys)
        if raw is not None:
            specs.append(parse(p, where, raw))
    return specs


def percent(p: Problems, path: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        p.error(path, f"expected a percentage above 0 and at most 100, got {value!r}")
        return None
    return float(value)


def unique(p: Problems, entries: list[tuple[str, str]], what: str) -> None:
    """Report every (path, value) whose value was seen before."""
    first: dict[str, str] = {}
    for path, value in entries:
        if value is None:
            continue
        if value in first:
            p.error(path, f"duplicate {what} {value!r} (first at {first[value]})")
        else:
            first[value] = path
