"""What every request goes through: microversions, tokens, routing, content types, headers,
error bodies, and bad input that must never become a 500."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import Api


def error(response) -> dict:
    return response.json()["errors"][0]


class TestMicroversions:
    def test_no_header_means_1_0(self, api):
        response = api.client.get("/", headers={})
        assert response.headers["openstack-api-version"] == "placement 1.0"
        assert response.json()["versions"][0]["max_version"] == "1.39"

    def test_latest_is_1_39(self, api):
        response = api.get("/", version="latest")
        assert response.headers["openstack-api-version"] == "placement 1.39"
        assert response.headers["vary"] == "openstack-api-version"

    @pytest.mark.parametrize("version", ["0.5", "1.40", "2.0"])
    def test_unsupported_is_406_with_the_range(self, api, version):
        response = api.get("/resource_providers", version=version)
        assert response.status_code == 406
        assert error(response)["min_version"] == "1.0"
        assert error(response)["max_version"] == "1.39"
        assert "openstack-api-version" not in response.headers
        assert "code" not in error(response)

    @pytest.mark.parametrize("version", ["pony.horse", "1.2.3", "1"])
    def test_malformed_is_400(self, api, version):
        assert api.get("/resource_providers", version=version).status_code == 400

    def test_the_version_is_echoed_on_errors(self, api):
        response = api.get("/nowhere", version="1.23")
        assert response.status_code == 404
        assert response.headers["openstack-api-version"] == "placement 1.23"
        assert error(response)["code"] == "placement.undefined_code"


class TestAuth:
    def test_token_is_required_but_for_the_root(self, api):
        assert api.client.get("/").status_code == 200
        response = api.client.get(f"/allocations/{uuid.uuid4()}")
        assert response.status_code == 401
        assert response.json()["title"] == "Unauthorized"
        assert "openstack-api-version" not in response.headers

    def test_other_tokens_are_forbidden(self, api):
        visitor = Api(api.client, token="not-admin")
        response = visitor.get(f"/allocations/{uuid.uuid4()}")
        assert response.status_code == 403
        assert error(response)["title"] == "Forbidden"

    def test_415_comes_before_403(self, api):
        visitor = Api(api.client, token="not-admin")
        response = visitor.put(f"/allocations/{uuid.uuid4()}", content=b"x",
                               headers={"content-type": "text/plain"})
        assert response.status_code == 415


class TestRouting:
    def test_405_names_the_allowed_methods(self, api):
        response = api.post(f"/allocations/{uuid.uuid4()}", json={})
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, PUT, DELETE"
        assert error(response)["title"] == "Method Not Allowed"

    def test_bulk_inventory_delete_is_405_before_1_5(self, api):
        rp = api.provider()
        assert api.delete(f"/resource_providers/{rp}/inventories", version="1.4").status_code == 405
        assert api.delete(f"/resource_providers/{rp}/inventories", version="1.5").status_code == 204

    @pytest.mark.parametrize("path, version", [("/resource_classes", "1.1"),
                                               ("/usages?project_id=x", "1.8")])
    def test_paths_before_their_microversion_are_404(self, api, path, version):
        assert api.get(path, version=version).status_code == 404


class TestContentTypes:
    def test_wrong_content_type_is_415(self, api):
        response = api.put(f"/allocations/{uuid.uuid4()}", content=b"{}",
                           headers={"content-type": "text/plain"})
        assert response.status_code == 415
        assert "text/plain" in error(response)["detail"]

    def test_charset_parameter_is_fine(self, api):
        response = api.post("/resource_providers", content=json.dumps(
            {"name": f"charset-{uuid.uuid4()}"}).encode(),
            headers={"content-type": "application/json; charset=utf-8"})
        assert response.status_code == 200

    def test_body_without_content_type_is_400(self, api):
        response = api.client.request(
            "PUT", f"/allocations/{uuid.uuid4()}", content=b"{}",
            headers={"x-auth-token": "admin", "content-length": "2"})
        assert response.status_code == 400
        assert "content-type header required" in error(response)["detail"]

    def test_accept_without_json_is_406(self, api):
        response = api.get(f"/allocations/{uuid.uuid4()}", headers={"accept": "text/plain"})
        assert response.status_code == 406


class TestBadInput:
    @pytest.mark.parametrize("body", [
        b"{",
        b"not json",
        b'{"allocations": \xff\xfe}',
        b'{"allocations": "\\ud800"}',
        b'{"allocations": ' + b"9" * 5000 + b"}",
        b"[" * 100000 + b"]" * 100000,
    ], ids=["truncated", "text", "not-utf8", "lone-surrogate", "huge-int", "deep"])
    def test_never_a_500(self, api, body):
        response = api.put(f"/allocations/{uuid.uuid4()}", content=body,
                           headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert error(response)["status"] == 400

    def test_huge_amounts_are_refused_cleanly(self, api):
        rp = api.provider({"VCPU": {"total": 4, "allocation_ratio": 3.0e38}})
        response = api.put(f"/allocations/{uuid.uuid4()}", json={
            "allocations": {rp: {"resources": {"VCPU": 10**30}}}, "project_id": "p",
            "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"})
        assert 400 <= response.status_code < 500

    def test_a_capacity_out_of_float_range_is_400(self, api):
        rp = api.provider()
        response = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 246, "reserved": 924,
                                     "allocation_ratio": -2.881355195912037e+307}}})
        assert response.status_code == 400
        assert "out of range" in error(response)["detail"]

    def test_oversized_body_is_413(self, api):
        response = api.put(f"/allocations/{uuid.uuid4()}",
                           content=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}',
                           headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert error(response)["status"] == 413


class TestHeaders:
    def test_every_response_has_a_request_id(self, api):
        for response in (api.client.get("/"), api.client.get("/nowhere"),
                         api.get(f"/allocations/{uuid.uuid4()}")):
            assert response.headers["x-openstack-request-id"].startswith("req-")

    def test_error_body_shape(self, api):
        response = api.get(f"/resource_providers/{uuid.uuid4()}", version="1.39")
        assert response.status_code == 404
        (item,) = response.json()["errors"]
        assert set(item) == {"status", "title", "detail", "code", "request_id"}
        assert item["request_id"] == response.headers["x-openstack-request-id"]

    def test_spec_and_swagger_ui_are_served(self, api):
        assert api.client.get("/openapi.json").json()["openapi"].startswith("3.0")
        assert api.client.get("/ui/").status_code == 200
