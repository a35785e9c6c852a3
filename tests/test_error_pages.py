"""Error pages as upstream Placement 16.0.0 writes them: the texts, and JSON, HTML or plain
text by the `Accept` header. Clients match these texts, so each is asserted whole."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Api

BAD_REQUEST = ("The server could not comply with the request since it is either malformed "
               "or otherwise incorrect.")


def detail(response) -> str:
    return response.json()["errors"][0]["detail"]


class TestJsonTexts:
    def test_unknown_path_has_the_explanation_alone(self, api):
        response = api.get("/nowhere", version="1.23")
        assert detail(response) == "The resource could not be found.\n\n   "
        assert list(response.json()["errors"][0]) == [
            "status", "title", "detail", "code", "request_id"]

    def test_an_operation_not_at_this_microversion_is_a_bare_404(self, api):
        response = api.post("/allocations", version="1.12", json={})
        assert response.status_code == 404
        assert detail(response) == "The resource could not be found.\n\n   "

    def test_405_names_the_method(self, api):
        response = api.get("/allocations")
        assert detail(response) == ("The method GET is not allowed for this resource. \n\n"
                                    " The method specified is not allowed for this resource.")

    def test_415_names_the_media_type_sent(self, api):
        response = api.put(f"/allocations/{uuid.uuid4()}", content=b"{}",
                            headers={"content-type": "text/plain;charset=utf-8"})
        assert detail(response) == (
            "The request media type text/plain;charset=utf-8 is not supported by this "
            "server. \n\n The media type text/plain is not supported, use application/json")

    def test_403_names_the_policy_rule(self, api):
        visitor = Api(api.client, token="not-admin")
        response = visitor.delete(f"/allocations/{uuid.uuid4()}")
        assert detail(response) == ("Access was denied to this resource.\n\n Policy does not "
                                    "allow placement:allocations:delete to be performed.  ")

    def test_an_empty_token_is_a_token(self, api):
        assert Api(api.client, token="").get("/resource_providers").status_code == 403

    def test_401_is_the_frameworks_own_json(self, api):
        response = api.client.get("/resource_providers")
        assert response.json() == {
            "message": "This server could not verify that you are authorized to access the "
                       "document you requested. Either you supplied the wrong credentials "
                       "(e.g., bad password), or your browser does not understand how to "
                       "supply the credentials required.<br /><br />\n\n\n",
            "code": "401 Unauthorized", "title": "Unauthorized"}
        assert "www-authenticate" not in response.headers

    @pytest.mark.parametrize(("header", "message"), [
        ("1", "invalid version string: 1; Version.__new__() missing 1 required positional "
              "argument: 'minor'"),
        ("1.2.3", "invalid version string: 1.2.3; invalid literal for int() with base 10: "
                  "'2.3'"),
        ("LATEST", "invalid version string: LATEST; invalid literal for int() with base 10: "
                   "'LATEST'"),
    ], ids=["no-minor", "three-parts", "upper-case-latest"])
    def test_a_malformed_version(self, api, header, message):
        response = api.get("/", version=header)
        assert detail(response) == f"{BAD_REQUEST}\n\n Invalid microversion: {message}  "

    def test_an_unacceptable_version(self, api):
        response = api.get("/", version="1.-1")
        assert response.status_code == 406
        assert detail(response) == (
            "The resource could not be generated that was acceptable to your browser "
            "(content of type application/json. \n\n Invalid microversion: Unacceptable "
            "version header: 1.-1")

    @pytest.mark.parametrize(("header", "served"), [
        ("placement 1.05", "1.5"), ("placement 1 .5", "1.5"), ("placement 1.+5", "1.5"),
        ("PLACEMENT 1.5", "1.5"), ("placement 1.5, placement 1.7", "1.7"),
    ])
    def test_versions_are_read_as_integers(self, api, header, served):
        response = api.client.get("/", headers={"openstack-api-version": header})
        assert response.headers["openstack-api-version"] == f"placement {served}"


class TestByAccept:
    def test_html_when_asked_for_html(self, api):
        response = api.get("/nowhere", headers={"accept": "text/html"})
        assert response.headers["content-type"] == "text/html; charset=UTF-8"
        assert response.text == (
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
            "  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n"
            "\n\n\n </body>\n</html>")

    def test_html_escapes_the_message(self, api):
        response = api.get("/resource_providers", headers={"accept": "text/html"})
        assert response.status_code == 406
        assert ("The resource could not be generated that was acceptable to your browser\n"
                "(content of type text/html. <br /><br />\nOnly application/json is provided"
                in response.text)

    def test_html_wins_a_tie_and_a_higher_quality(self, api):
        for accept in ("text/html, application/json", "application/json;q=0.5, text/html"):
            response = api.get("/nowhere", headers={"accept": accept})
            assert response.headers["content-type"].startswith("text/html")

    def test_plain_text_when_neither(self, api):
        response = api.get("/allocations", headers={"accept": "image/png"})
        assert response.status_code == 405
        assert response.headers["content-type"] == "text/plain; charset=UTF-8"
        assert response.text == (
            "405 Method Not Allowed\n\nThe method GET is not allowed for this resource. \n\n"
            " The method specified is not allowed for this resource.")

    def test_json_for_any(self, api):
        response = api.get("/nowhere", headers={"accept": "*/*"})
        assert response.headers["content-type"] == "application/json"


class TestSchemaFailures:
    """A body or query string at odds with the spec fails as upstream's jsonschema call
    fails: the most relevant error, printed in full, line breaks as spaces."""

    def test_a_body_failure_in_jsonschemas_words(self, api):
        rp = api.provider()
        response = api.put(f"/resource_providers/{rp}/inventories", version="1.20", json={
            "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 0}}})
        assert detail(response).startswith(
            f"{BAD_REQUEST}\n\n JSON does not validate: 0 is less than the minimum of 1  "
            "Failed validating 'minimum' in schema['properties']['inventories']"
            "['patternProperties']['^[A-Z0-9_]+$']['properties']['total']:     {")
        assert detail(response).endswith("On instance['inventories']['VCPU']['total']:     0  ")

    @pytest.mark.parametrize(("body", "message"), [
        ({"allocations": {"nope": {"resources": {"VCPU": 1}}}, "project_id": "p",
          "user_id": "u", "consumer_generation": None},
         "'nope' does not match any of the regexes: '^[0-9a-fA-F-]{36}$'"),
        ({"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": "x"},
         "'x' is not of type 'integer', 'null'"),
        ({"allocations": {}, "project_id": "p", "user_id": "u"},
         "'consumer_generation' is a required property"),
    ], ids=["key-pattern", "nullable-integer", "required"])
    def test_allocation_bodies(self, api, body, message):
        response = api.put(f"/allocations/{uuid.uuid4()}", version="1.28", json=body)
        assert detail(response).startswith(f"{BAD_REQUEST}\n\n JSON does not validate: "
                                           f"{message}  Failed validating ")

    def test_a_lenient_uuid_is_upstreams_uuid_format(self, api):
        response = api.post("/resource_providers", version="1.14",
                            json={"name": "n", "parent_provider_uuid": "bad"})
        assert detail(response) == (
            f"{BAD_REQUEST}\n\n JSON does not validate: 'bad' is not a 'uuid'  Failed "
            "validating 'format' in schema[0]:     {'type': 'string', 'format': 'uuid'}  "
            "On instance:     'bad'  ")

    def test_mappings_leave_keys_without_a_group_name_unchecked(self, api):
        response = api.put(f"/allocations/{uuid.uuid4()}", version="1.34", json={
            "allocations": {}, "project_id": "p", "user_id": "u",
            "consumer_generation": None, "mappings": {"": ["x"]}})
        assert response.status_code == 204

    def test_a_query_string_is_checked_whole(self, api):
        response = api.get("/usages?project_id=p&foo=1", version="1.9")
        assert detail(response).startswith(
            f"{BAD_REQUEST}\n\n Invalid query string parameters: Additional properties are "
            "not allowed ('foo' was unexpected)  Failed validating 'additionalProperties' in "
            "schema:     {'type': 'object',")

    def test_a_query_uuid_is_jsonschemas_uuid_format(self, api):
        response = api.get("/resource_providers?in_tree=x", version="1.14")
        assert "Invalid query string parameters: 'x' is not a 'uuid'  Failed validating " \
               "'format' in schema['properties']['in_tree']" in detail(response)

    def test_an_operation_without_query_parameters_ignores_the_query(self, api):
        response = api.get(f"/allocations/{uuid.uuid4()}?foo=1")
        assert response.status_code == 200
        assert api.get("/resource_classes?foo=1").status_code == 200


class TestResponses:
    def test_a_location_is_an_absolute_url(self, api):
        rp = str(uuid.uuid4())
        response = api.post("/resource_providers", version="1.20",
                            json={"uuid": rp, "name": f"test-rp-{rp}"})
        assert response.headers["location"] == f"http://testserver/resource_providers/{rp}"
        response = api.post(f"/resource_providers/{rp}/inventories",
                            json={"resource_class": "VCPU", "total": 1})
        assert response.headers["location"] == (
            f"http://testserver/resource_providers/{rp}/inventories/VCPU")

    def test_json_ends_with_the_document(self, api):
        assert api.get("/resource_classes").content.endswith(b"]}")

    def test_a_created_resource_without_a_body_has_length_0(self, api):
        response = api.post("/resource_providers", version="1.19", json={"name": "len0"})
        assert response.status_code == 201
        assert response.headers["content-length"] == "0"
        assert "content-type" not in response.headers
