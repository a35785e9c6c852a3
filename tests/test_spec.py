"""The spec and its projections: valid OpenAPI at every microversion, with each operation
and body variant where its microversion range puts it."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

import placement_spec
from placement_spec import Microversion
from placement_spec.microversion import named_in_header


def test_the_whole_spec_is_valid_openapi():
    validate(placement_spec.load())


@pytest.mark.parametrize("version", placement_spec.supported(), ids=str)
def test_every_projection_is_valid_openapi(version):
    document = placement_spec.project(version)
    validate(document)
    assert "x-openstack" not in _keys(document)


def _keys(node) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(item) for item in node))
    return set()


def test_operations_appear_at_their_microversion():
    def operations(version: str) -> set[tuple[str, str]]:
        return {(method, path) for path, item in placement_spec.project(version)["paths"].items()
                for method in item if method in ("get", "put", "post", "delete")}

    assert ("post", "/allocations") not in operations("1.12")
    assert ("post", "/allocations") in operations("1.13")
    assert ("get", "/resource_classes") not in operations("1.1")
    assert ("get", "/usages") in operations("1.9")
    assert ("delete", "/resource_providers/{uuid}/inventories") not in operations("1.4")
    assert ("delete", "/resource_providers/{uuid}/inventories") in operations("1.5")


def _put_allocations_schema(version: str) -> dict:
    document = placement_spec.project(version)
    body = document["paths"]["/allocations/{consumer_uuid}"]["put"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


@pytest.mark.parametrize("version, required", [
    ("1.0", {"allocations"}),
    ("1.8", {"allocations", "project_id", "user_id"}),
    ("1.12", {"allocations", "project_id", "user_id"}),
    ("1.28", {"allocations", "project_id", "user_id", "consumer_generation"}),
    ("1.38", {"allocations", "project_id", "user_id", "consumer_generation", "consumer_type"}),
])
def test_put_body_variant_by_microversion(version, required):
    assert set(_put_allocations_schema(version)["required"]) == required


def test_microversions_compare_as_numbers():
    assert Microversion.parse("1.10") > Microversion.parse("1.9")
    with pytest.raises(placement_spec.MalformedVersion):
        Microversion.parse("1.2.3")


def test_projection_refuses_versions_outside_the_range():
    with pytest.raises(ValueError):
        placement_spec.project("1.40")


def test_a_version_header_names_a_microversion_only_as_placement_x_y():
    assert named_in_header("placement 1.28") == "1.28"
    for value in ("placement latest", "placement 1.28 ", "compute 1.28", "", None):
        assert named_in_header(value) is None


@pytest.mark.parametrize("version, form", [("1.10", "array"), ("1.11", "array"),
                                           ("1.12", "object"), ("1.39", "object")])
def test_allocation_requests_by_microversion(version, form):
    """Allocation candidates answer with the body `PUT /allocations` takes at the same
    microversion: a list of allocations before 1.12, a map by provider after."""
    document = placement_spec.project(version)
    response = document["paths"]["/allocation_candidates"]["get"]["responses"]["200"]
    schema = placement_spec.resolve(document, response["content"]["application/json"]["schema"])
    request = placement_spec.resolve(document,
                                     schema["properties"]["allocation_requests"]["items"])
    assert request["properties"]["allocations"]["type"] == form
