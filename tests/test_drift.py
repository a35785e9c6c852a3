"""`placement-conformance drift`: the spec against the api-ref, against another spec, and
against running servers.

Each check is run through the command line, as CI runs it. An altered copy of the api-ref
or of the spec must produce the expected finding and exit 1; the real api-ref, the
reference server and upstream Placement must come out clean. The api-ref source is where
`PLACEMENT_API_REF` says, or else in ../shared/api-ref beside the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
import uvicorn
import yaml

import placement_spec
from conformance.cli import main
from conformance.exits import EXIT_FAILED, EXIT_PASSED, EXIT_USAGE
from conformance.drift import DEFAULT_ALLOW_LIST
from reference_impl.app import create_app
from reference_impl.config import Settings
from reference_impl.handlers import resource_providers
from tests.dependencies import unavailable
from tests.peer import running_peer
from tests.server_process import running_server

# Where the api-ref source is when PLACEMENT_API_REF does not say: ../shared/api-ref
# beside the project.
API_REF_BESIDE_THE_PROJECT = Path(__file__).resolve().parents[2] / "shared" / "api-ref"


@pytest.fixture(scope="module")
def api_ref_source() -> Path:
    """Placement's api-ref source. Without it the calling test is skipped, or failed when
    PLACEMENT_TEST_REQUIRE names the api-ref."""
    named = os.environ.get("PLACEMENT_API_REF")
    source = Path(named) if named else API_REF_BESIDE_THE_PROJECT
    if not source.is_dir():
        unavailable("api-ref", f"PLACEMENT_API_REF={named} is not a folder" if named
                    else f"PLACEMENT_API_REF is not set and {source} is not a folder")
    return source


def drift(capsys, *arguments: str) -> tuple[int, dict]:
    """Run `placement-conformance drift ... --json`: its exit status and its report."""
    status = main(["drift", *arguments, "--json"])
    return status, json.loads(capsys.readouterr().out)


def counted(report: dict) -> list[tuple[str, str, str]]:
    """The findings that fail the check, as (operation, kind, subject)."""
    return [(f["operation"], f["kind"], f["subject"]) for f in report["findings"]
            if f["breaking"] and f["allowed"] is None]


# ------------------------------------------------------------------- drift api-ref

def test_the_spec_matches_the_api_ref_but_for_allow_listed_differences(capsys, api_ref_source):
    status, report = drift(capsys, "api-ref", str(api_ref_source))
    assert counted(report) == []
    assert status == EXIT_PASSED
    assert report["unused_allowances"] == []
    assert all(f["allowed"].strip() for f in report["findings"])


def test_the_table_lists_only_what_is_not_allow_listed(capsys, api_ref_source):
    assert main(["drift", "api-ref", str(api_ref_source)]) == EXIT_PASSED
    assert capsys.readouterr().out.strip().startswith("0 drift,")


@pytest.fixture
def api_ref(api_ref_source, tmp_path) -> Path:
    """A copy of the api-ref source to alter."""
    return Path(shutil.copytree(api_ref_source, tmp_path / "api-ref"))


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


API_REF_ALTERATIONS: dict[str, tuple[Callable[[Path], None], tuple[str, str, str]]] = {
    "a parameter removed": (
        lambda tree: replace_once(tree / "resource_providers.inc",
                                  "  - resources: resources_query_1_4\n", ""),
        ("GET /resource_providers", "parameter-only-in-spec", "query resources")),
    "a microversion range moved": (
        lambda tree: replace_once(
            tree / "parameters.yaml",
            'the same "provider tree" as the specified provider.\n  min_version: 1.14',
            'the same "provider tree" as the specified provider.\n  min_version: 1.15'),
        ("GET /resource_providers", "parameter-range", "query in_tree")),
    "a status code added": (
        lambda tree: replace_once(tree / "resource_provider_usages.inc",
                                  "Error response codes: itemNotFound(404)",
                                  "Error response codes: itemNotFound(404), conflict(409)"),
        ("GET /resource_providers/{uuid}/usages", "status-only-in-api-ref", "status 409")),
    "a sample broken": (
        lambda tree: replace_once(tree / "samples/inventories/get-inventory.json",
                                  '"total": 4', '"total": "four"'),
        ("GET /resource_providers/{uuid}/inventories/{resource_class}", "sample-invalid",
         "sample samples/inventories/get-inventory.json")),
    "a sample that is not JSON": (
        lambda tree: replace_once(tree / "samples/usages/get-usages.json", '"VCPU": 2',
                                  '"VCPU": 2,'),
        ("GET /usages", "sample-invalid", "sample samples/usages/get-usages.json")),
    "an operation added": (
        lambda tree: append(tree / "usages.inc", "\nDelete usages\n=============\n\n"
                            ".. rest_method:: DELETE /usages\n\nNormal Response Codes: 204\n"),
        ("DELETE /usages", "operation-only-in-api-ref", "operation")),
}


@pytest.mark.parametrize("alter, expected", API_REF_ALTERATIONS.values(),
                         ids=API_REF_ALTERATIONS.keys())
def test_an_altered_api_ref_drifts(capsys, api_ref, alter, expected):
    alter(api_ref)
    status, report = drift(capsys, "api-ref", str(api_ref))
    assert counted(report) == [expected]
    assert status == EXIT_FAILED


def test_the_allow_list_excuses_drift_only_with_a_reason(capsys, api_ref, tmp_path):
    API_REF_ALTERATIONS["a parameter removed"][0](api_ref)
    allow = yaml.safe_load(DEFAULT_ALLOW_LIST.read_text())
    entry = {"operation": "GET /resource_providers", "kind": "parameter-only-in-spec",
             "subject": "query resources"}
    allow["api-ref"].append({**entry, "reason": "documented elsewhere"})
    (tmp_path / "allow.yaml").write_text(yaml.safe_dump(allow))
    assert drift(capsys, "api-ref", str(api_ref), "--allow", str(tmp_path / "allow.yaml"))[0] \
        == EXIT_PASSED

    allow["api-ref"][-1] = entry
    (tmp_path / "allow.yaml").write_text(yaml.safe_dump(allow))
    assert main(["drift", "api-ref", str(api_ref), "--allow", str(tmp_path / "allow.yaml")]) \
        == EXIT_USAGE
    assert "has no reason" in capsys.readouterr().err


def test_a_missing_api_ref_is_a_usage_error(capsys, tmp_path):
    assert main(["drift", "api-ref", str(tmp_path / "nowhere")]) == EXIT_USAGE
    assert "is not a folder" in capsys.readouterr().err


# ---------------------------------------------------------------------- drift spec

def schemas(spec: dict) -> dict:
    return spec["components"]["schemas"]


SPEC_CHANGES: dict[str, tuple[Callable[[dict], object], tuple[str, str, str]]] = {
    "an operation removed": (
        lambda spec: spec["paths"]["/allocations/{consumer_uuid}"].pop("delete"),
        ("DELETE /allocations/{consumer_uuid}", "operation-removed", "operation")),
    "a field made required": (
        lambda spec: schemas(spec)["ResourceProviderCreateRequest"].update(
            required=["name", "uuid"]),
        ("POST /resource_providers", "field-required", "request body uuid")),
    "a range narrowed": (
        lambda spec: spec["components"]["parameters"]["rp_list_in_tree"]["x-openstack"].update(
            {"min-ver": "1.20"}),
        ("GET /resource_providers", "field-range-narrowed", "query in_tree")),
    "an enum narrowed": (
        lambda spec: schemas(spec)["ResourceClassRequest"]["properties"]["name"].update(
            enum=["CUSTOM_FPGA"]),
        ("POST /resource_classes", "enum-changed", "request body name")),
    "a type changed": (
        lambda spec: schemas(spec)["ResourceProviderCreateRequest"]["properties"]["name"].update(
            type="integer"),
        ("POST /resource_providers", "type-changed", "request body name")),
    "a status code removed": (
        lambda spec: spec["paths"]["/resource_providers/{uuid}"]["delete"]["responses"].pop("409"),
        ("DELETE /resource_providers/{uuid}", "status-removed", "status 409")),
    "a response field removed": (
        lambda spec: schemas(spec)["ResourceProvider"]["properties"].pop("generation"),
        ("GET /resource_providers/{uuid}", "field-removed", "response body generation")),
}


def changed_spec(tmp_path: Path, change: Callable[[dict], object]) -> Path:
    spec = placement_spec.load()
    change(spec)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("change, expected", SPEC_CHANGES.values(), ids=SPEC_CHANGES.keys())
def test_a_breaking_change_fails(capsys, tmp_path, change, expected):
    status, report = drift(capsys, "spec", str(placement_spec.SPEC_PATH),
                           str(changed_spec(tmp_path, change)))
    assert expected in counted(report)
    assert status == EXIT_FAILED


COMPATIBLE_CHANGES: dict[str, tuple[Callable[[dict], object], tuple[str, str, str]]] = {
    "a new optional field": (
        lambda spec: schemas(spec)["ResourceProviderUpdateRequest"]["properties"].update(
            description={"type": "string"}),
        ("PUT /resource_providers/{uuid}", "field-added", "request body description")),
    "a widened range": (
        lambda spec: spec["components"]["parameters"]["rp_list_in_tree"]["x-openstack"].update(
            {"min-ver": "1.10"}),
        ("GET /resource_providers", "field-range-widened", "query in_tree")),
    "a widened type": (
        lambda spec: schemas(spec)["InventoryTotal"].pop("multipleOf"),
        ("PUT /resource_providers/{uuid}/inventories/{resource_class}", "type-changed",
         "request body total")),
}


@pytest.mark.parametrize("change, expected", COMPATIBLE_CHANGES.values(),
                         ids=COMPATIBLE_CHANGES.keys())
def test_a_compatible_change_passes(capsys, tmp_path, change, expected):
    status, report = drift(capsys, "spec", str(placement_spec.SPEC_PATH),
                           str(changed_spec(tmp_path, change)))
    assert counted(report) == []
    assert expected in [(f["operation"], f["kind"], f["subject"]) for f in report["findings"]]
    assert status == EXIT_PASSED


def test_an_unchanged_spec_has_no_findings(capsys):
    spec = str(placement_spec.SPEC_PATH)
    assert drift(capsys, "spec", spec, spec) == (EXIT_PASSED, {
        "failed": False, "findings": [], "unused_allowances": []})


def test_an_allow_listed_breaking_change_passes(capsys, tmp_path):
    change, (operation, kind, subject) = SPEC_CHANGES["a status code removed"]
    allow = tmp_path / "allow.yaml"
    allow.write_text(yaml.safe_dump({"spec": [{
        "operation": operation, "kind": kind, "subject": subject,
        "reason": "Placement never sends it"}]}))
    status, report = drift(capsys, "spec", str(placement_spec.SPEC_PATH),
                           str(changed_spec(tmp_path, change)), "--allow", str(allow))
    assert [f["allowed"] for f in report["findings"]] == ["Placement never sends it"]
    assert status == EXIT_PASSED


# ---------------------------------------------------------------------- drift live

def test_the_reference_server_answers_as_the_spec_says(capsys, tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'reference.db'}") as server:
        status, report = drift(capsys, "live", "--url", server.url, "--token", "admin")
    assert report["findings"] == []
    assert status == EXIT_PASSED


def test_upstream_placement_answers_as_the_spec_says(peer_venv, capsys, tmp_path):
    with running_peer(peer_venv, tmp_path / "upstream") as peer:
        status, report = drift(capsys, "live", "--url", peer.url, "--token", "admin")
    assert report["findings"] == []
    assert status == EXIT_PASSED


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve an ASGI application on a loopback port from a thread of this process, so
    that a test can patch the server it checks."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def test_a_server_that_drops_a_required_key_is_reported(capsys, tmp_path, monkeypatch):
    serialize = resource_providers.serialize

    def without_generation(provider):
        return {key: value for key, value in serialize(provider).items() if key != "generation"}

    monkeypatch.setattr(resource_providers, "serialize", without_generation)
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'broken.db'}"))
    with serving(app) as url:
        status, report = drift(capsys, "live", "--url", url, "--token", "admin",
                               "--microversions", "1.20,1.28")
    mismatched = {(f["operation"], f["versions"]) for f in report["findings"]
                  if "'generation' is a required property" in f["detail"]}
    assert ("GET /resource_providers/{uuid}", "1.20, 1.28") in mismatched
    assert ("POST /resource_providers", "1.20, 1.28") in mismatched
    assert status == EXIT_FAILED
