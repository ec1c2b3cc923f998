"""Strict JSON: what PostgreSQL cannot store (NUL, lone surrogates, NaN) is a 400, not a 500."""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 64


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def strict_loads(data: str | bytes) -> Any:
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    _check(value, 0)
    return value


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            raise ValueError("strings may not contain NUL characters or unpaired surrogates")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s)


class VigilRequest(Request):
    def on_json_loading_failed(self, e: ValueError | None):
        # Flask hides the reason outside debug mode; a sender needs it to fix its payload.
        if e is None:
            return super().on_json_loading_failed(e)
        raise BadRequest(f"Failed to decode JSON: {e}")
