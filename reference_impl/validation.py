"""Request validation against the spec, failing with upstream's messages.

Upstream validates a body with `jsonschema.validate` (JSON Schema 2020-12 semantics, the
most relevant error reported) and answers "JSON does not validate: " followed by the
error as jsonschema prints it; a query string it validates as one object, whose keys are
the operation's query parameters (or match the patterns of its families of keys, such
as the request groups of allocation candidates) and no others, answering "Invalid query
string parameters: ..." the same way. Clients and upstream's own tests match parts of those
texts ("Failed validating 'required' in schema", "does not match any of the regexes").

The spec is OpenAPI 3.0, so a few of its schema words are read here as the JSON Schema
they stand for (see the spec's `info.description`): `nullable`, integers written as
`type: number, multipleOf: 1`, and map keys written as `x-propertyNames`. The schemas
themselves are the spec's; only their wording changes.
"""

from __future__ import annotations

import copy
import functools
from typing import Callable

from connexion.datastructures import MediaTypeDict
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from connexion.validators.parameter import draft4_format_checker
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match

import placement_spec
from placement_spec import facts
from reference_impl import uuids
from reference_impl.errors import BadRequest

# Words for readers, not validators: left out, as they would only lengthen messages.
ANNOTATIONS = ("description", "example", "examples", "title")
# Bodies: upstream's uuid check is its lenient one (dashless, braces, any case).
BODY_FORMATS = FormatChecker()
BODY_FORMATS.checks("uuid")(lambda text: not isinstance(text, str) or uuids.canonical(text)
                            is not None)
# Query strings: jsonschema's own checks, whose uuid is the dashed form only.
QUERY_FORMATS = FormatChecker()
# On a query parameter: the query keys it stands for, as a pattern (see the spec's
# info.description); in the query string's schema, upstream's patternProperties.
KEY_PATTERN = facts.KEY_PATTERN


def as_json_schema(node, components: dict):
    """An OpenAPI 3.0 schema of the spec, `$ref`s resolved, as JSON Schema 2020-12 in
    upstream's words."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    schema = {}
    for key, value in node.items():
        if key == "x-format":
            schema["format"] = value
        elif key in ANNOTATIONS or key.startswith("x-") or key == "nullable":
            continue
        elif key == "pattern" and "x-format" in node:
            continue  # the pattern restates the format for tools that cannot check it
        elif key == "additionalProperties" and _key_pattern(node):
            schema["patternProperties"] = {_key_pattern(node): as_json_schema(value,
                                                                             components)}
            if "x-propertyNames" in node:
                schema["additionalProperties"] = False
        elif key == "type" and value == "number" and node.get("multipleOf") == 1:
            schema["type"] = "integer"
        elif key == "multipleOf" and value == 1 and node.get("type") == "number":
            continue
        elif key == "properties":  # a map of names, any of which may look like a keyword
            schema[key] = {name: as_json_schema(sub, components) for name, sub in value.items()}
        else:
            schema[key] = as_json_schema(value, components)
    if "properties" in schema:
        # Upstream's schemas name the properties right after the type; the order shows
        # in the schema that a failure quotes.
        schema = {key: schema[key] for key in ("type", "properties") if key in schema} | schema
    if node.get("nullable"):
        schema = _or_null(schema)
    return schema


def _key_pattern(node: dict) -> str | None:
    """The keys whose values are checked: all must match (`x-propertyNames`), or only
    those that match are checked (`x-checked-keys`)."""
    return (node.get("x-propertyNames") or {}).get("pattern") or node.get("x-checked-keys")


def _or_null(schema: dict) -> dict:
    """`schema` or null, as upstream writes it: a list of types when the type is all
    there is to check, else a choice between the schema and null."""
    if set(schema) <= {"type", "additionalProperties"}:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _validator(schema: dict, formats: FormatChecker) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=formats)


def failure(validator: Draft202012Validator, instance) -> str | None:
    """jsonschema's text for the most relevant way `instance` breaks the validator's
    schema, or None."""
    error = best_match(validator.iter_errors(instance))
    return None if error is None else str(error)


# Validators of the spec's body schemas and parameters (which live as long as the
# server), by the schema's identity: Connexion hands over the same, already resolved,
# schema for every request to an operation, so each is converted and compiled once.
_BODY_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}
_PARAMETER_VALIDATORS: dict[int, tuple[dict, Draft4Validator]] = {}


def _compiled(cache: dict, schema: dict, compile_: Callable[[dict], object]):
    known = cache.get(id(schema))
    if known is None or known[0] is not schema:
        known = cache[id(schema)] = (schema, compile_(schema))
    return known[1]


def _body_validator(schema: dict) -> Draft202012Validator:
    # Connexion hangs the document's components on the schema it hands over.
    return _compiled(_BODY_VALIDATORS, schema, lambda schema: _validator(
        as_json_schema({key: value for key, value in schema.items() if key != "components"},
                       {}), BODY_FORMATS))


def check_body(schema: dict, body) -> None:
    """Placement's 400 when `body` breaks `schema`, a schema of the spec."""
    _refuse("JSON does not validate", failure(_body_validator(schema), body))


def check(version, schema_name: str, value) -> None:
    """Validate `value` against a named schema of the spec at `version`: for the rare
    input that is not a body (a class name given in the path), Placement's 400."""
    schemas = placement_spec.project(version)["components"]["schemas"]
    _refuse("JSON does not validate", schema_failure(schemas, schema_name, value))


def schema_failure(schemas: dict, schema_name: str, value) -> str | None:
    """jsonschema's text for how `value` breaks the schema named `schema_name` among a
    document's `schemas`, or None."""
    return failure(_validator(as_json_schema(schemas[schema_name], schemas), BODY_FORMATS),
                   value)


def _refuse(preamble: str, message: str | None) -> None:
    if message is not None:
        raise BadRequest(f"{preamble}: {message}")


@functools.cache
def query_validator(version, method: str, template: str) -> Draft202012Validator | None:
    """A validator for the object upstream checks an operation's whole query string as,
    or None when the operation takes no query parameters (upstream then ignores any)."""
    document = placement_spec.project(version)
    operation = document["paths"][template][method.lower()]
    parameters = [_resolved(p, document) for p in operation.get("parameters", [])]
    parameters = [p for p in parameters if p["in"] == "query"]
    if not parameters:
        return None
    components = document["components"]["schemas"]
    named = [p for p in parameters if KEY_PATTERN not in p]
    # In upstream's order, which shows in the schema a failure quotes.
    schema = {"type": "object",
              "properties": {p["name"]: as_json_schema(p["schema"], components)
                             for p in named}}
    required = [p["name"] for p in named if p.get("required")]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    families = {p[KEY_PATTERN]["pattern"]: as_json_schema(p["schema"], components)
                for p in parameters if KEY_PATTERN in p}
    if families:
        schema["patternProperties"] = families
    return _validator(schema, QUERY_FORMATS)


def named_parameters(validator: Draft202012Validator) -> frozenset[str]:
    """The query parameters of a `query_validator` that stand for one key each (not
    for a family of keys)."""
    return frozenset(validator.schema["properties"])


def _resolved(parameter: dict, document: dict) -> dict:
    if "$ref" not in parameter:
        return parameter
    return document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]


def check_query(validator: Draft202012Validator, query: dict[str, str]) -> None:
    _refuse("Invalid query string parameters", failure(validator, query))


class PlacementBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator, with upstream's semantics and messages."""

    def _validate(self, body):
        check_body(self._schema, body)
        return body


class PlacementParameterValidator(ParameterValidator):
    """Connexion's parameter validator, its validator for each parameter compiled once
    rather than for every request; the checks and their messages are Connexion's."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param,
                                                         param_name)
        validator = _compiled(_PARAMETER_VALIDATORS, param, lambda param: Draft4Validator(
            copy.deepcopy(param.get("schema", param)), format_checker=draft4_format_checker))
        try:
            validator.validate(value)
        except ValidationError as exception:
            return str(exception)
        return None


VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": PlacementParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": PlacementBodyValidator}),
}
