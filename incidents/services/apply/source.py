"""Reading vigil.yaml: one line per problem, with the line and column where YAML stops making sense."""
from __future__ import annotations

from typing import Any

import yaml

from incidents.services.apply.result import ApplyFailed

MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """The safe loader, but a key given twice in one mapping is reported instead of silently won by the last."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                mark = key_node.start_mark
                self.duplicates.append(f"{mark.line + 1}:{mark.column + 1}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str) -> tuple[Any, list[str]]:
    """The file's data and its duplicate-key errors; ApplyFailed when it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as fh:
            content = fh.read()
    except OSError as exc:
        raise ApplyFailed([f"{path}: cannot read the file: {exc.strerror}"]) from None
    except UnicodeDecodeError as exc:
        raise ApplyFailed([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    loader = _Loader(content)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ApplyFailed([f"{path}:{_syntax_error(exc)}"]) from None
    finally:
        loader.dispose()
    return data, [f"{path}:{d}" for d in loader.duplicates]


def _syntax_error(exc: yaml.YAMLError) -> str:
    """'12:5: YAML syntax error: mapping values are not allowed here' on one line."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"{mark.line + 1}:{mark.column + 1}: YAML syntax error: {exc.problem}{context}"
    return " YAML error: " + " ".join(str(exc).split())
