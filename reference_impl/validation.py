"""Request body validation against the spec, with the one keyword OpenAPI 3.0 lacks.

Placement's schemas constrain the keys of maps (resource class names, provider UUIDs).
OpenAPI 3.0 cannot say that, so the spec writes the key rule as `x-propertyNames`, with
the meaning of JSON Schema's `propertyNames`. Connexion's validator is taught that one
keyword here; everything else is Connexion's own Draft 4 validation.
"""

from __future__ import annotations

from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from connexion.datastructures import MediaTypeDict
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend

import placement_spec
from reference_impl.errors import BadRequest


def _property_names(validator, names_schema, instance, _schema):
    if not validator.is_type(instance, "object"):
        return
    for name in instance:
        for error in validator.descend(name, names_schema):
            yield ValidationError(f"{name!r} is not a valid key: {error.message}")


PlacementValidator = extend(Draft4RequestValidator, {"x-propertyNames": _property_names})


def validator(schema: dict) -> Draft4Validator:
    return PlacementValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def check(version, schema_name: str, value) -> None:
    """Validate `value` against a named schema of the spec at `version`: for the rare
    input that is not a body (a class name given in the path), Placement's 400."""
    document = placement_spec.project(version)
    schema = {"components": document["components"], "$ref": f"#/components/schemas/{schema_name}"}
    failure = next(validator(schema).iter_errors(value), None)
    if failure is not None:
        raise BadRequest(f"JSON does not validate: {failure.message}")


class PlacementBodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self):
        return validator(self._schema)


VALIDATORS = {
    **VALIDATOR_MAP,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": PlacementBodyValidator}),
}
