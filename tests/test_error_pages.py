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
