"""The request-body contract: every JSON body the fake receives on a route that names a schema
is checked against tests/schemas/<name>.json (formats included), so an adapter that sends a
field Microsoft does not know fails the test that sent it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@functools.cache
def _registry() -> tuple[Registry, dict[str, dict[str, Any]]]:
    documents = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(document)
        documents[document["$id"]] = document
    registry: Registry = Registry().with_resources(
        (name, Resource.from_contents(document)) for name, document in documents.items()
    )
    return registry, documents


def names() -> list[str]:
    return sorted(_registry()[1])


def problems(name: str, instance: Any) -> list[str]:
    """What is wrong with `instance` for schema `name` (empty when it conforms), each problem
    with the JSON path of the offending field."""
    registry, documents = _registry()
    validator = Draft202012Validator(
        documents[name],
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"{where or '(body)'}: {error.message}")
    return found
