"""Command-line overrides: ``--set optim.lr=1e-5`` edits one key of the loaded YAML mapping."""

from __future__ import annotations

from typing import Any

import yaml


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
    result = yaml.safe_load(yaml.safe_dump(data))  # deep copy of plain YAML data
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
