"""The spec's OpenAPI 3.0 schemas read as the JSON Schema upstream validates with."""

from __future__ import annotations

from reference_impl.validation import as_json_schema


def test_a_property_may_bear_a_keywords_name() -> None:
    schema = {"type": "object", "description": "words for readers",
              "properties": {"title": {"type": "string", "description": "also"}}}
    assert as_json_schema(schema, {}) == {"type": "object",
                                          "properties": {"title": {"type": "string"}}}


def test_integers_nulls_and_map_keys() -> None:
    schema = {"type": "object", "required": ["n"],
              "x-propertyNames": {"pattern": "^[A-Z]+$"},
              "additionalProperties": {"type": "number", "multipleOf": 1, "nullable": True},
              "properties": {"u": {"type": "string", "nullable": True, "x-format": "uuid",
                                   "pattern": "^[0-9a-f-]+$"}}}
    assert as_json_schema(schema, {}) == {
        "type": "object",
        "properties": {"u": {"anyOf": [{"type": "string", "format": "uuid"},
                                       {"type": "null"}]}},
        "required": ["n"],
        "patternProperties": {"^[A-Z]+$": {"type": ["integer", "null"]}},
        "additionalProperties": False,
    }


def test_checked_keys_leave_the_others_free() -> None:
    schema = {"type": "object", "x-checked-keys": "[a-z]",
              "additionalProperties": {"type": "array"}}
    assert as_json_schema(schema, {}) == {"type": "object",
                                          "patternProperties": {"[a-z]": {"type": "array"}}}
