"""YAML settings files, one way for every config of the workspace: read, ``--set`` overrides, validation, errors.

Both apps load their configs through here, so they take the same ``--set a.b=c`` overrides and report every problem
with the same field path (``data.mixture.datasets[0].weight``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration that cannot be used; ``problems`` lists ``(field path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]] | str, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = problems
        self.source = source
        header = f"invalid configuration {source}" if source else "invalid configuration"
        lines = [f"  {path}: {message}" if path else f"  {message}" for path, message in problems]
        super().__init__("\n".join([header + ":", *lines]))


class OverrideError(ValueError):
    """An override that is not of the form ``dotted.path=value`` or that cannot be applied."""


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into its key path and the value parsed as YAML (``1e-5``, ``true``, ``[a, b]``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise OverrideError(f"override {text!r} is not of the form path.to.key=value")
    parts = key.strip().split(".")
    if any(not part for part in parts):
        raise OverrideError(f"override {text!r} has an empty key in its path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise OverrideError(f"override {text!r}: value is not valid YAML ({error})") from error
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each override applied in order; list items are addressed by index."""
    result = copy.deepcopy(data)
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            node = _child(node, part, create=True, where=".".join(parts[: depth + 1]), text=text)
        _assign(node, parts[-1], value, text)
    return result


def _child(node: Any, part: str, create: bool, where: str, text: str) -> Any:
    if isinstance(node, dict):
        if part not in node or node[part] is None:
            if not create:
                raise OverrideError(f"override {text!r}: {where} does not exist")
            node[part] = {}
        return node[part]
    if isinstance(node, list):
        return node[_index(node, part, where, text)]
    raise OverrideError(f"override {text!r}: {where} is inside a {type(node).__name__}, not a mapping or list")


def _assign(node: Any, part: str, value: Any, text: str) -> None:
    if isinstance(node, dict):
        node[part] = value
    elif isinstance(node, list):
        node[_index(node, part, part, text)] = value
    else:
        raise OverrideError(f"override {text!r}: cannot set a key inside a {type(node).__name__}")


def _index(node: list, part: str, where: str, text: str) -> int:
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise OverrideError(f"override {text!r}: {where} is not an index of a list of {len(node)} items")
    return int(part)


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("data", "mixture", 0, "weight")`` -> ``data.mixture[0].weight`` (a bad dict key is named by the key)."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problems_from(error: ValidationError) -> list[tuple[str, str]]:
    """One ``(field path, message)`` per pydantic error, the offending value quoted where it helps."""
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (not a field of this section)"
        elif item["type"] not in ("missing",) and not isinstance(item.get("input"), dict):
            message = f"{message} (got {item.get('input')!r})"
        problems.append((field_path(item["loc"]), message))
    return _deduplicate(problems)


def _deduplicate(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for problem in problems:
        seen.setdefault(problem)
    return list(seen)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML file (empty file: empty mapping); raises `ConfigError` naming the file and line."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError([("", f"cannot read {path}: {error.strerror}")], str(path)) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([("", f"{where}not valid YAML ({getattr(error, 'problem', error)})")], str(path)) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([("", f"the top level must be a mapping, got {type(data).__name__}")], str(path))
    return data


def with_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...], source: str | None = None) -> dict:
    """`apply_overrides`, its errors raised as `ConfigError`."""
    try:
        return apply_overrides(data, list(overrides))
    except OverrideError as error:
        raise ConfigError([("", str(error))], source) from error


def validated(model: type[Model], data: Any, source: str | None = None) -> Model:
    """``model`` validated from plain data; raises `ConfigError` listing every problem with its field path."""
    if not isinstance(data, dict):
        raise ConfigError([("", f"the top level must be a mapping, got {type(data).__name__}")], source)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(problems_from(error), source) from error


def load_yaml_config(model: type[Model], path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Model:
    """Read a YAML file, apply ``--set`` overrides, validate as ``model``; raises `ConfigError`."""
    return validated(model, with_overrides(read_yaml(path), overrides, str(path)), str(path))
