"""What /api/openapi.json says, corrected where APIFlask cannot see the truth (found by the
Schemathesis run in tests/test_api_fuzz.py):

- path parameters: APIFlask reads a converter's name from the rule text, and one with arguments
  (`<int(min=1, max=...):incident_id>`) defeats it, so every id was documented as a string;
  each path parameter's schema now comes from the converter Flask really routes with;
- errors: every error body is `{"error": {"code", "message", "detail"?}}` (web/errors.py), not
  APIFlask's default `{"message", "detail"}`;
- answers any operation can give: 400 for a body that is not JSON (or holds what cannot be
  stored), 413 for one over MAX_CONTENT_LENGTH, 409 when a write loses a race for a unique key,
  503 with Retry-After while the database is down;
- the intake endpoints' bodies and 202 answers (intake_schemas), which their views read
  themselves after checking the key."""
from __future__ import annotations

import re

from apiflask import APIFlask
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

from incidents.web import intake_schemas

_LENGTHS = re.compile(r"\{(\d+),(\d*)\}$")  # UnicodeConverter's regex: [^/]{min,max}


def converter_schema(converter) -> dict | None:
    """The JSON schema of what a converter accepts, or None when it is not one we describe."""
    if isinstance(converter, IntegerConverter):
        schema = {"type": "integer", "minimum": converter.min if converter.min is not None else 0}
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, PathConverter):
        return {"type": "string", "minLength": 1}
    if isinstance(converter, UnicodeConverter):
        schema = {"type": "string", "pattern": "^[^/]*$"}
        lengths = _LENGTHS.search(converter.regex)
        if lengths:
            schema["minLength"] = int(lengths.group(1))
            if lengths.group(2):
                schema["maxLength"] = int(lengths.group(2))
        return schema
    return None


def openapi_path(rule: str) -> str:
    """The document's path for a rule, as APIFlask writes it: `<int(...):id>` becomes `{id}`."""
    return re.sub(r"<([^<:]+:)?", "{", rule).replace(">", "}")


ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "description": "e.g. not_found, invalid, conflict"},
                       "message": {"type": "string", "description": "what was wrong, in plain words"},
                       "detail": {"type": "object", "description": "per field, for a 422"}}}},
}
NO_DATABASE = {"/healthz", "/metrics"}  # answer without asking the database
ANSWERS = {
    400: "the body is not valid JSON, or holds what cannot be stored (NUL, unpaired surrogates, NaN)",
    413: "the body is larger than the limit",
}
UNAVAILABLE = {"description": "the database is unavailable; retry after the seconds in Retry-After",
               "headers": {"Retry-After": {"schema": {"type": "integer"}}},
               "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}}


def describe_path_parameters(app: APIFlask) -> None:
    @app.spec_processor
    def correct(spec: dict) -> dict:
        converters = _converters(app)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["HTTPError"] = schemas["ValidationError"] = ERROR
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                _path_parameters(operation, path, converters)
                _answers(operation, method, path, schemas)
        return spec


def _converters(app: APIFlask) -> dict:
    found = {}
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            found[(openapi_path(rule.rule), name)] = converter
    return found


def _path_parameters(operation: dict, path: str, converters: dict) -> None:
    for parameter in operation.get("parameters", []):
        converter = converters.get((path, parameter["name"]))
        schema = converter_schema(converter) if parameter.get("in") == "path" else None
        if schema:
            parameter["schema"] = schema


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}}


def _answers(operation: dict, method: str, path: str, schemas: dict) -> None:
    responses = operation.setdefault("responses", {})
    if path in intake_schemas.BODIES:
        body, accepted = intake_schemas.BODIES[path]
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        responses["202"]["content"] = {"application/json": {"schema": accepted}}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        if _has_required(content["application/json"].get("schema", {}), schemas):
            operation["requestBody"]["required"] = True
        for status, description in ANSWERS.items():
            responses.setdefault(str(status), _error(description))
    if method != "get":  # a unique key a concurrent change took first (web/errors.py)
        responses.setdefault("409", _error("the change conflicts with a concurrent one; retry"))
    if path not in NO_DATABASE:
        responses.setdefault("503", UNAVAILABLE)


def _has_required(schema: dict, schemas: dict) -> bool:
    """A body with required fields cannot be left out (the answer is a 422 or a 415)."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = schemas.get(ref.rsplit("/", 1)[1], {})
    return bool(schema.get("required"))
