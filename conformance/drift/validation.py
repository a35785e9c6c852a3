"""Whether a JSON value is what a schema of a projected spec describes.

One function for the api-ref's samples and for a live server's responses. It validates
as OpenAPI 3.0 does (`nullable`, formats such as `uuid`) with openapi-schema-validator,
resolves the spec's `$ref`s, and also checks map keys against `x-propertyNames`, the
spec's way of writing JSON Schema's `propertyNames` (see the spec's info.description).
"""

from __future__ import annotations

from typing import Any, Iterator

from jsonschema import ValidationError, validators
from openapi_schema_validator import OAS30Validator


def _property_names(validator, names: dict, instance: Any, schema: dict
                    ) -> Iterator[ValidationError]:
    """`x-propertyNames`: every key of an object must match the schema `names`."""
    if validator.is_type(instance, "object"):
        for key in instance:
            yield from validator.descend(instance=key, schema=names, path=key)


_Validator = validators.extend(OAS30Validator, {"x-propertyNames": _property_names})


def problems(document: dict, schema: dict, instance: Any) -> list[str]:
    """What is wrong with `instance` against `schema`, a schema in `document`; [] if valid.

    `document` is a projected spec: the schema's `#/components/...` references resolve
    in it.
    """
    root = {**schema, "components": document.get("components", {})}
    validator = _Validator(root, format_checker=OAS30Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    return [f"at /{'/'.join(map(str, error.path))}: {error.message}" for error in errors]
