"""A deployment's front end refuses some requests before Placement sees them: the harness
reports those as not reached, not as Placement's failures, and still fails on a broken
Placement behind the same front end.

The front end is `tests.front_end_proxy`, a small proxy with tight limits in front of the
reference server served from a thread of this process (so that a breakage patched in
here reaches it); each command runs as `placement-conformance` does, through its `main`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis

import placement_spec
from conformance.cli import main
from conformance.exits import EXIT_FAILED, EXIT_PASSED
from conformance.front_end import COMMON_LIMITS, Limits, Policy, Refusal, exceeded, refusal
from conformance.fuzz_engine import within_common_limits
from conformance.fuzz_report import VersionResult
from placement_spec import Microversion
from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.breakages import errors_in_another_shape, merge_on_put
from tests.front_end_proxy import proxy
from tests.server_thread import serving_in_thread

NGINX_414 = (b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
             b"<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n")
PLACEMENT_413 = json.dumps({"errors": [{"status": 413, "title": "Request Entity Too Large",
                                        "detail": "too large", "request_id": "req-1"}]})

# Tight enough that some of each command's requests are refused, loose enough for the
# requests that make and remove the run's data: the longest is the DELETE of a resource
# class whose 255-character name the fuzzer drew.
TIGHT = Limits(request_line=400, header_field=1000, body=400)


def _unreachable(method: str, path: str) -> bool:
    """Where the proxy answers 502, as if Placement had not answered: usages, which only
    read, so that every run can still make and remove its data."""
    return path.endswith("/usages")


# --- telling the front end's answer from Placement's -----------------------------------

def test_a_front_end_page_is_a_refusal():
    assert refusal(414, {"content-type": "text/html", "server": "nginx"}, NGINX_414) == Refusal(414)
    assert refusal(502, {}, b"Bad Gateway") == Refusal(502)
    assert str(Refusal(414)) == "the deployment's front end refused the request (414)"


@pytest.mark.parametrize(("status", "headers", "body"), [
    pytest.param(413, {}, PLACEMENT_413, id="a 413 with Placement's error body"),
    pytest.param(414, {"X-OpenStack-Request-Id": "req-1"}, NGINX_414,
                 id="a 414 with Placement's request id"),
    pytest.param(503, {"OpenStack-API-Version": "placement 1.39"}, b"",
                 id="a 503 with Placement's microversion"),
    pytest.param(400, {}, NGINX_414, id="a status Placement answers itself"),
    pytest.param(500, {}, b"Internal Server Error", id="a server error"),
])
def test_an_answer_placement_may_have_given_is_not_a_refusal(status, headers, body):
    assert refusal(status, headers, body) is None


def test_the_reference_servers_own_413_is_placements():
    app = create_app(Settings(db_url="sqlite://", max_body_bytes=100))
    with app.test_client() as client:
        response = client.post("/resource_providers", content="x" * 200,
                               headers={"x-auth-token": "admin", "content-type": "application/json"})
    assert response.status_code == 413
    assert refusal(response.status_code, response.headers, response.content) is None


def test_exceeded_names_the_limit_passed():
    limits = Limits(request_line=30, header_field=15, body=5)
    assert exceeded(limits, "GET", "/usages?a=1", [("Accept", "*/*")], b"{}") is None
    assert exceeded(limits, "GET", "/usages?project_id=1", [], None) == (
        "a request line of 33 bytes (limit 30)")
    assert exceeded(limits, "GET", "/", [("X-Auth-Token", "secret")], None) == (
        "a header field X-Auth-Token of 20 bytes (limit 15)")
    assert exceeded(limits, "PUT", "/", [], b"123456") == "a body of 6 bytes (limit 5)"


def test_generated_requests_stay_within_common_limits():
    """The issue's request, `GET /usages` with a 4,720-byte request line, is never sent;
    one within gunicorn's 4,094 bytes is."""
    schema = schemathesis.openapi.from_dict(
        placement_spec.project(Microversion.parse("1.39")),
        config=schemathesis.Config.from_dict({"base-url": "http://placement.test"}))
    usages = schema["/usages"]["GET"]
    longest = COMMON_LIMITS.request_line - len("GET /usages?project_id= HTTP/1.1")
    assert within_common_limits(usages.Case(query={"project_id": "p" * longest}))
    assert not within_common_limits(usages.Case(query={"project_id": "p" * (longest + 1)}))
    assert not within_common_limits(usages.Case(
        query={"project_id": "p", "consumer_type": "c" * 2300, "user_id": "u" * 2300}))


def test_fuzz_refusals_fail_a_microversion_only_when_the_deployment_must_accept_them():
    refused = Counter({("GET /usages", 414): 2})
    reported = VersionResult(Microversion.parse("1.39"), refused=refused)
    assert not reported.failed and reported.refusal_failures() == []
    assert reported.refusals() == [
        "NOT REACHED placement 1.39 GET /usages x2: not reached: the deployment's front end "
        "refused the request (414)"]
    failing = VersionResult(Microversion.parse("1.39"), refused=refused,
                            front_end_refusals=Policy.FAIL)
    assert failing.failed and failing.refusal_failures("GET /usages") == [
        "FAILED placement 1.39 GET /usages x2: the deployment's front end refused the "
        "request (414), which the deployment must accept (front-end refusals: fail)"]
    assert failing.refusal_failures("PUT /allocations/{consumer_uuid}") == []


# --- the commands behind a front end ---------------------------------------------------

@pytest.fixture(scope="module")
def placement(tmp_path_factory) -> str:
    with serving_in_thread(tmp_path_factory.mktemp("front-end") / "placement.db") as url:
        yield url


@pytest.fixture
def front_end(placement: str):
    with proxy(placement, TIGHT, _unreachable) as (url, log):
        yield url, log


def _command(capsys, *arguments: str) -> tuple[int, str]:
    code = main(list(arguments))
    return code, capsys.readouterr().out


def _target(url: str) -> tuple[str, ...]:
    return "--url", url, "--token", "admin"


def _not_reached_in_html(page: str) -> list[str]:
    """The texts of the report's section of requests the front end refused."""
    section = page.partition("Not reached: refused by the deployment&#39;s front end")[2]
    return [line for line in section.splitlines() if "not reached" in line]


def test_run_reports_refused_requests_as_not_reached(front_end, capsys, tmp_path):
    url, log = front_end
    html = tmp_path / "report.html"
    code, out = _command(capsys, "run", *_target(url), "--html", str(html))
    assert code == EXIT_PASSED, out
    refused = {(refused.method, refused.status) for refused in log.refused}
    assert {("POST", 413), ("PUT", 413), ("GET", 502)} <= refused
    assert "0 failed" in out and f"{len(log.refused)} not reached" in out
    assert ("NOT REACHED post-allocations [1.13] POST setting two consumers is 204: not "
            "reached: the deployment's front end refused the request (413)") in out
    page = html.read_text()
    assert "kind-not-reached" in page
    assert any("front end refused the request (413)" in line
               for line in _not_reached_in_html(page))


def test_run_fails_on_refusals_when_the_deployment_must_accept_them(front_end, capsys):
    url, _ = front_end
    code, out = _command(capsys, "run", *_target(url), "--only", "post-allocations",
                         "--front-end-refusals", "fail")
    assert code == EXIT_FAILED
    assert ("FAILED post-allocations [1.13] POST setting two consumers is 204: the "
            "deployment's front end refused the request (413), which the deployment must "
            "accept (front-end refusals: fail)") in out


def test_run_still_fails_a_broken_placement_behind_the_front_end(front_end, capsys,
                                                                 monkeypatch):
    url, log = front_end
    merge_on_put(monkeypatch)
    code, out = _command(capsys, "run", *_target(url))
    assert code == EXIT_FAILED
    assert "FAILED replace-on-put [1.12] after PUT B the consumer holds exactly B" in out
    assert log.refused and "not reached" in out


def _fuzz(capsys, url: str, *options: str) -> tuple[int, str]:
    return _command(capsys, "fuzz", *_target(url), "--microversions", "1.39",
                    "--max-examples", "1", "--seed", "1", *options)


def test_fuzz_reports_refused_requests_as_not_reached(front_end, capsys, tmp_path):
    url, log = front_end
    html = tmp_path / "report.html"
    code, out = _fuzz(capsys, url, "--html", str(html))
    assert code == EXIT_PASSED, out
    assert "NOT REACHED placement 1.39 GET /usages x" in out
    assert "the deployment's front end refused the request (502)" in out
    assert {refused.status for refused in log.refused} >= {413, 502}
    assert "0 failures at 1 microversions" in out
    assert any("GET /usages" in line and "(502)" in line
               for line in _not_reached_in_html(html.read_text()))


def test_fuzz_still_fails_a_broken_placement_behind_the_front_end(front_end, capsys,
                                                                  monkeypatch):
    url, log = front_end
    errors_in_another_shape(monkeypatch)
    code, out = _fuzz(capsys, url, "--front-end-refusals", "report")
    assert code == EXIT_FAILED
    assert "[placement_error_shape]" in out
    assert log.refused and "NOT REACHED" in out


def _drift(capsys, url: str, *options: str) -> tuple[int, str]:
    return _command(capsys, "drift", "live", *_target(url), "--microversions", "1.38,1.39",
                    *options)


def test_drift_live_reports_refused_requests_as_not_reached(front_end, capsys):
    url, _ = front_end
    code, out = _drift(capsys, url)
    assert code == EXIT_PASSED, out
    for operation in ("GET /usages", "GET /resource_providers/{uuid}/usages"):
        assert (f"{operation}\n  not reached not-reached                  response  "
                f"[1.38-1.39]\n              not reached: the deployment's front end refused "
                f"the request (502)") in out
    assert "0 mismatch, 2 not reached" in out
    code, out = _drift(capsys, url, "--front-end-refusals", "fail")
    assert code == EXIT_FAILED
    assert "2 mismatch, 0 allow-listed" in out


def test_drift_live_still_fails_a_broken_placement_behind_the_front_end(front_end, capsys,
                                                                        monkeypatch):
    url, _ = front_end
    errors_in_another_shape(monkeypatch)
    code, out = _drift(capsys, url)
    assert code == EXIT_FAILED
    assert "response-body-undescribed" in out and "not reached" in out
