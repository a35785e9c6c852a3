"""What a client sees of each operation at one microversion, read from the spec.

Both drift checks compare "surfaces": for every operation ("PUT /allocations/{uuid}")
and every microversion, its parameters, the fields of its request and response bodies,
its response headers and its status codes. Reading the spec one projection at a time
means a body that changes shape across microversions (a `oneOf` of variants) and a field
that exists only in some of them need no range arithmetic: each projection is plain
OpenAPI 3.0, and ranges are rebuilt from the sets of microversions only for the report.

Body fields are named by their path from the body's root: `allocations.*.resources`,
where `*` stands for any key of a map (`additionalProperties`) and array items add no
segment (the api-ref names fields the same way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from placement_spec import HTTP_METHODS, Microversion, project_document, resolve

from conformance.drift.versions import universe

MAP_KEY = "*"

# Keywords that restrict the values a field takes, beyond its type and enum.
CONSTRAINTS = ("pattern", "format", "minimum", "maximum", "exclusiveMinimum",
               "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems",
               "maxItems", "minProperties", "maxProperties", "x-propertyNames")


@dataclass(frozen=True)
class Field:
    """A parameter, header or body field. `types` is None when any type is allowed.

    `types` uses JSON types, with `integer` for OpenAPI's `number, multipleOf: 1` and
    `null` for `nullable`. `closed` says that an object takes no properties besides
    those it names (`additionalProperties: false`).
    """

    required: bool
    types: frozenset[str] | None = None
    enum: frozenset[str] | None = None
    constraints: tuple[tuple[str, str], ...] = ()
    closed: bool = False


@dataclass
class OperationView:
    """One operation at one microversion. Parameters are keyed by (location, name)."""

    parameters: dict[tuple[str, str], Field] = field(default_factory=dict)
    request_body: dict[str, Field] = field(default_factory=dict)
    response_body: dict[str, Field] = field(default_factory=dict)
    response_headers: dict[str, Field] = field(default_factory=dict)
    statuses: set[str] = field(default_factory=set)

    def merge(self, other: "OperationView") -> None:
        """Add what `other` describes (two api-ref sections may cover one version)."""
        self.parameters.update(other.parameters)
        self.request_body.update(other.request_body)
        self.response_body.update(other.response_body)
        self.response_headers.update(other.response_headers)
        self.statuses |= other.statuses


# operation -> microversion -> what the operation looks like then
Surface = dict[str, dict[Microversion, OperationView]]


@dataclass
class Spec:
    """A spec file, whole and projected to every microversion it describes."""

    whole: dict
    documents: dict[Microversion, dict]

    @property
    def versions(self) -> list[Microversion]:
        return sorted(self.documents)

    def surface(self) -> Surface:
        found: Surface = {}
        for version, document in self.documents.items():
            for operation, view in _views(document):
                found.setdefault(operation, {})[version] = view
        return found

    def operation(self, version: Microversion, operation: str) -> dict | None:
        """The projected operation object, or None when it does not exist at `version`."""
        method, _, path = operation.partition(" ")
        return self.documents[version]["paths"].get(path, {}).get(method.lower())


def read_spec(path: Path) -> Spec:
    """Load a spec file and project it to each of its microversions.

    Raises ValueError (or yaml.YAMLError, OSError) when the file is not a readable spec.
    """
    with path.open(encoding="utf-8") as stream:
        whole = yaml.safe_load(stream)
    if not isinstance(whole, dict) or "paths" not in whole:
        raise ValueError(f"{path} is not an OpenAPI document")
    return Spec(whole, {version: project_document(whole, version)
                        for version in universe(whole)})


def operation_name(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


def json_body_schema(holder: dict) -> dict | None:
    """The `application/json` schema of a request body or response, if it has one."""
    return ((holder.get("content") or {}).get("application/json") or {}).get("schema")


def _views(document: dict) -> list[tuple[str, OperationView]]:
    views = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method in item:
                views.append((operation_name(method, path),
                              _view(document, item[method], shared)))
    return views


def _view(document: dict, operation: dict, shared: list) -> OperationView:
    view = OperationView()
    for parameter in [*shared, *operation.get("parameters", [])]:
        parameter = resolve(document, parameter)
        view.parameters[(parameter["in"], parameter["name"])] = _field(
            document, parameter.get("schema", {}), parameter.get("required", False))
    body = resolve(document, operation.get("requestBody"))
    if body and json_body_schema(body):
        view.request_body = body_fields(document, json_body_schema(body))
    for status, response in operation.get("responses", {}).items():
        view.statuses.add(str(status))
        if not str(status).startswith("2"):
            continue
        response = resolve(document, response)
        for name, header in (response.get("headers") or {}).items():
            header = resolve(document, header)
            view.response_headers[name] = _field(document, header.get("schema", {}),
                                                 header.get("required", False))
        if json_body_schema(response):
            view.response_body.update(body_fields(document, json_body_schema(response)))
    return view


def body_fields(document: dict, schema: dict) -> dict[str, Field]:
    """Every field of a body schema, by path (see the module's docstring)."""
    fields: dict[str, Field] = {}
    _collect(document, schema, (), fields, frozenset())
    return fields


def _collect(document: dict, node: Any, prefix: tuple[str, ...],
             fields: dict[str, Field], seen: frozenset[str]) -> None:
    if isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:  # a recursive schema: its fields are already collected
            return
        seen = seen | {node["$ref"]}
    schema = resolve(document, node)
    if not isinstance(schema, dict):
        return
    required = set(schema.get("required", []))
    for name, child in (schema.get("properties") or {}).items():
        path = (*prefix, name)
        fields.setdefault(".".join(path), _field(document, child, name in required))
        _collect(document, child, path, fields, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        path = (*prefix, MAP_KEY)
        child = schema["additionalProperties"]
        fields.setdefault(".".join(path), _field(document, child, False))
        _collect(document, child, path, fields, seen)
    if isinstance(schema.get("items"), dict):
        _collect(document, schema["items"], prefix, fields, seen)
    for combinator in ("allOf", "oneOf", "anyOf"):
        for member in schema.get(combinator, []):
            _collect(document, member, prefix, fields, seen)


def _field(document: dict, node: Any, required: bool) -> Field:
    schema = resolve(document, node) or {}
    enum = schema.get("enum")
    return Field(
        required=bool(required),
        types=_types(document, schema),
        enum=frozenset(json.dumps(value) for value in enum) if enum is not None else None,
        constraints=_constraints(schema),
        closed=schema.get("additionalProperties") is False,
    )


def _constraints(schema: dict) -> tuple[tuple[str, str], ...]:
    """The restricting keywords, as (keyword, JSON text); `multipleOf: 1` is in the type."""
    present = {name: schema[name] for name in CONSTRAINTS if name in schema}
    if present.get("multipleOf") == 1:
        del present["multipleOf"]
    return tuple(sorted((name, json.dumps(value, sort_keys=True))
                        for name, value in present.items()))


def _types(document: dict, schema: dict) -> frozenset[str] | None:
    if "type" in schema:
        kind = schema["type"]
        if kind == "number" and schema.get("multipleOf") == 1:
            kind = "integer"
        return frozenset({kind, "null"} if schema.get("nullable") else {kind})
    members = [*schema.get("oneOf", []), *schema.get("anyOf", [])]
    if not members:
        return None
    unions = [_types(document, resolve(document, member)) for member in members]
    if any(kinds is None for kinds in unions):
        return None
    return frozenset().union(*unions)
