"""What exists at which microversion, and with which defaults and limits: asked of the spec.

Code that behaves differently from one microversion to the next asks here instead of
writing the number again:

    facts.request_field_range("PUT", "/allocations/{consumer_uuid}", "consumer_type").low

Every answer is read from the projections of the spec (`placement_spec.projection`), so
it means exactly "the projected spec has it at that microversion", through body variants,
`$ref`s and every `x-openstack` marker; each is computed once. A question about something
the spec does not have raises `LookupError`, so that a typo cannot read as "never".

Fields are named by their path from the body's top: `("allocations",)`,
`("errors", "code")`; an array is entered through its items, and `"*"` stands for any key
of a map (`additionalProperties`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

from placement_spec import document as spec_document
from placement_spec import projection as _projection
from placement_spec.microversion import MAXIMUM, Microversion, Range, supported

ANY_KEY = "*"
# The name of the policy rule an operation is checked by.
POLICY = "x-openstack-policy"
# On a query parameter that stands for a family of keys: the pattern of those keys.
KEY_PATTERN = "x-key-pattern"
# Where upstream checks an operation in another order than its usual one, by name.
CHECK_ORDER = "x-check-order"
# Its media types (Accept, Content-Type) before the microversion.
MEDIA_BEFORE_VERSION = "media-before-version"
# Its body before the provider of its path.
BODY_BEFORE_PROVIDER = "body-before-provider"


@functools.cache
def operation_range(method: str, path: str) -> Range:
    """The microversions in which the operation exists."""
    return _range(f"operation {method} {path}",
                  lambda spec: _operation(spec, method, path) is not None)


@functools.cache
def parameter_range(method: str, path: str, name: str) -> Range:
    """The microversions in which the operation takes the parameter `name` (query, path
    or header)."""
    return _range(f"parameter {name} of {method} {path}",
                  lambda spec: _parameter(spec, method, path, name) is not None)


@functools.cache
def request_field_range(method: str, path: str, *field: str, type: str | None = None) -> Range:
    """The microversions in which the request body has `field` (of JSON type `type`, when
    given: `type="object"` asks for the dict form of a body that was once a list)."""
    return _range(f"request field {'.'.join(field)} of {method} {path}",
                  lambda spec: _has_type(_request_field(spec, method, path, field), type))


@functools.cache
def response_range(method: str, path: str, status: int) -> Range:
    """The microversions in which the operation may answer `status`."""
    return _range(f"response {status} of {method} {path}",
                  lambda spec: _response(spec, method, path, status) is not None)


@functools.cache
def response_field_range(method: str, path: str, status: int, *field: str) -> Range:
    """The microversions in which the body of the `status` response has `field`."""
    def present(spec: dict) -> bool:
        response = _response(spec, method, path, status)
        return _field(spec, _json_schema(spec, response), field) is not None
    return _range(f"field {'.'.join(field)} of the {status} to {method} {path}", present)


@functools.cache
def response_header_range(method: str, path: str, status: int, header: str) -> Range:
    """The microversions in which the `status` response carries `header` (any case)."""
    def present(spec: dict) -> bool:
        response = _response(spec, method, path, status) or {}
        return header.lower() in {name.lower() for name in response.get("headers", {})}
    return _range(f"header {header} of the {status} to {method} {path}", present)


@functools.cache
def schema_field_range(schema: str, *field: str) -> Range:
    """The microversions in which the component schema `schema` has `field`: for a shape
    many operations share, such as `("Error", "errors", "code")`."""
    return _range(f"field {'.'.join(field)} of {schema}",
                  lambda spec: _field(spec, _component(spec, schema), field) is not None)


@functools.cache
def behaviour_range(name: str) -> Range:
    """The microversions in which a change of behaviour that no schema expresses holds
    (the spec's `info.x-behaviours`, such as `reserved-may-equal-total`)."""
    return _range(f"behaviour {name}",
                  lambda spec: name in spec["info"].get("x-behaviours", {}))


@functools.cache
def link_rels(schema: str, version: Microversion) -> tuple[str, ...]:
    """The rels of the `links` of a `schema` object at `version`, in Placement's order
    (the `x-link-rels` of its `links` property)."""
    links = _field(_projection(version), _component(_projection(version), schema), ("links",))
    if links is None or "x-link-rels" not in links:
        raise LookupError(f"the spec lists no link rels for {schema}")
    return tuple(link["rel"] for link in links["x-link-rels"])


@functools.cache
def query_key_patterns(method: str, path: str, version: Microversion) -> tuple[str, ...]:
    """The patterns of the families of query keys the operation takes at `version`
    (`^resources([1-9][0-9]*)?$`: the first group is a request group's suffix), in the
    spec's order; none where every parameter is one key."""
    spec = _projection(version)
    operation = _operation(spec, method, path) or {}
    parameters = [spec_document.resolve(spec, parameter)
                  for parameter in operation.get("parameters", [])]
    return tuple(parameter[KEY_PATTERN]["pattern"] for parameter in parameters
                 if KEY_PATTERN in parameter)


def request_field_schema(method: str, path: str, *field: str,
                         version: Microversion = MAXIMUM) -> dict | None:
    """The schema of a request body's `field` (the whole body without one) at `version`,
    `$ref`s resolved: its limits, its default; None where there is none."""
    return _request_field(_projection(version), method, path, field)


def request_field_defaults(method: str, path: str, *field: str,
                           version: Microversion = MAXIMUM) -> dict[str, Any]:
    """{property: default} of the object a request body (or its `field`) is, for the
    properties whose schema gives a default: what Placement assumes when one is left out."""
    schema = request_field_schema(method, path, *field, version=version)
    if schema is None:
        raise LookupError(f"{method} {path} has no request field {'.'.join(field)} at {version}")
    spec = _projection(version)
    defaults = {}
    for name, property_schema in schema.get("properties", {}).items():
        resolved = spec_document.resolve(spec, property_schema)
        if "default" in resolved:
            defaults[name] = resolved["default"]
    return defaults


@functools.cache
def check_order(method: str, path: str) -> frozenset[str]:
    """The exceptions to upstream's usual order of checks that the operation makes (the
    `x-check-order` of the spec, at any microversion: `MEDIA_BEFORE_VERSION` matters
    exactly where the operation does not exist yet). Clients observe the order: a
    request that breaks two rules is refused for the one checked first."""
    operation = _operation(spec_document.cached(), method, path)
    if operation is None:
        raise LookupError(f"the spec has no operation {method} {path}")
    order = frozenset(operation.get(CHECK_ORDER, ()))
    unknown = order - {MEDIA_BEFORE_VERSION, BODY_BEFORE_PROVIDER}
    if unknown:
        raise ValueError(f"{method} {path} names unknown orders of checks: {sorted(unknown)}")
    return order


@dataclass(frozen=True)
class PolicyRule:
    """A policy rule as upstream registers it: its secure-RBAC default check string, the
    legacy (deprecated) default oslo.policy ORs with it when new defaults are not
    enforced, and the token scopes it accepts."""

    name: str
    check: str
    scope_types: tuple[str, ...]
    deprecated_name: str | None = None
    deprecated_check: str | None = None


@functools.cache
def policy_rules() -> tuple[PolicyRule, ...]:
    """Every policy rule of the spec's `info.x-openstack-policies`, in its order."""
    rules = spec_document.cached()["info"]["x-openstack-policies"]
    return tuple(
        PolicyRule(name=name, check=rule["check"], scope_types=tuple(rule["scope-types"]),
                   deprecated_name=rule.get("deprecated", {}).get("name"),
                   deprecated_check=rule.get("deprecated", {}).get("check"))
        for name, rule in rules.items())


def operation_policies() -> dict[str, str]:
    """{`METHOD /path`: the name of the policy rule upstream checks for it}, over every
    operation of the spec at any microversion (`GET /` has none)."""
    spec = spec_document.cached()
    return {f"{method.upper()} {path}": operation[POLICY]
            for path, item in spec["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and POLICY in operation}


# ------------------------------------------------------------------ the walk

def _range(subject: str, present: Callable[[dict], bool]) -> Range:
    """The one unbroken run of microversions whose projection has `subject`."""
    versions = [version for version in supported() if present(_projection(version))]
    if not versions:
        raise LookupError(f"the spec has no {subject} at any microversion")
    if len(versions) != versions[-1].minor - versions[0].minor + 1:
        raise ValueError(f"the spec has {subject} in separate runs of microversions")
    return Range(versions[0], versions[-1])


def _operation(spec: dict, method: str, path: str) -> dict | None:
    return spec["paths"].get(path, {}).get(method.lower())


def _parameter(spec: dict, method: str, path: str, name: str) -> dict | None:
    operation = _operation(spec, method, path)
    if operation is None:
        return None
    shared = spec["paths"][path].get("parameters", [])
    parameters = [spec_document.resolve(spec, parameter)
                  for parameter in [*shared, *operation.get("parameters", [])]]
    return next((p for p in parameters if p["name"] == name), None)


def _response(spec: dict, method: str, path: str, status: int) -> dict | None:
    operation = _operation(spec, method, path) or {}
    response = operation.get("responses", {}).get(str(status))
    return spec_document.resolve(spec, response) if response is not None else None


def _request_field(spec: dict, method: str, path: str, field: tuple[str, ...]) -> dict | None:
    operation = _operation(spec, method, path) or {}
    return _field(spec, _json_schema(spec, operation.get("requestBody")), field)


def _json_schema(spec: dict, holder: dict | None) -> dict | None:
    """The `application/json` schema of a request body or a response, if it has one."""
    holder = spec_document.resolve(spec, holder) or {}
    return ((holder.get("content") or {}).get("application/json") or {}).get("schema")


def _component(spec: dict, schema: str) -> dict | None:
    return spec["components"]["schemas"].get(schema)


def _field(spec: dict, schema: dict | None, field: tuple[str, ...]) -> dict | None:
    """The schema of `field` inside `schema`, `$ref`s resolved; None where there is none."""
    schema = spec_document.resolve(spec, schema)
    for name in field:
        if schema is None:
            return None
        if schema.get("type") == "array":
            schema = spec_document.resolve(spec, schema.get("items"))
        if name == ANY_KEY:
            found = schema.get("additionalProperties")
        else:
            found = schema.get("properties", {}).get(name)
        schema = spec_document.resolve(spec, found) if isinstance(found, dict) else None
    return schema


def _has_type(schema: dict | None, type: str | None) -> bool:
    return schema is not None and (type is None or schema.get("type") == type)
