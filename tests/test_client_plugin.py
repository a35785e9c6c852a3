"""The pytest plugin for client developers (`reference_impl.pytest_plugin`): the README's
example client test runs as a user runs it, and a dropped connection is one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

# Strict mode shows itself here: a new consumer refused for an unknown provider is not
# recorded, so the retry that sends `null` succeeds (README, "--strict").
STRICT_TEST = '''
import uuid

def test_the_server_is_strict(placement):
    rp, consumer = placement.provider(inventory={"VCPU": {"total": 2}}), str(uuid.uuid4())
    with placement.client() as client:
        def claim(provider):
            return client.put(f"/allocations/{consumer}", json={
                "allocations": {provider: {"resources": {"VCPU": 1}}}, "project_id": "p",
                "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"})
        assert claim(str(uuid.uuid4())).status_code == 400
        assert claim(rp).status_code == 204
'''


def _example() -> str:
    text = README.read_text(encoding="utf-8").split("<!-- client test example -->", 1)[1]
    return re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)


def test_the_readmes_client_test_passes_with_the_plugin(tmp_path):
    """Run from an empty folder, in a process of its own, as a client's suite runs: the
    plugin comes from the installed package's entry point, and `--placement-ref-strict`
    reaches the server."""
    (tmp_path / "test_example.py").write_text(_example())
    (tmp_path / "test_strict.py").write_text(STRICT_TEST)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--placement-ref-strict", "test_example.py", "test_strict.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b3 passed\b", result.stdout), result.stdout


def test_a_dropped_connection_has_no_answer(placement):
    placement.inject(method="GET", path="/traits", drop=True, times=1)
    with placement.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/traits")
        assert client.get("/traits").status_code == 200
    dropped, answered = placement.journal(path="/traits")
    assert dropped["injected"] and dropped["response"]["status"] is None
    assert answered["response"]["status"] == 200 and not answered["injected"]


def _starts_from_nothing_and_leaves_something(placement) -> None:
    assert placement.journal() == [] and placement.faults() == []
    with placement.client() as client:
        assert client.get("/resource_providers").json()["resource_providers"] == []
    placement.provider(inventory={"VCPU": {"total": 1}})
    placement.inject(path="/", status=503)


def test_the_fixture_resets_before_a_test(placement):
    _starts_from_nothing_and_leaves_something(placement)


def test_the_fixture_resets_before_the_next_test_too(placement):
    _starts_from_nothing_and_leaves_something(placement)


def test_the_plugin_serves_the_microversion_ceiling_it_is_given(tmp_path):
    (tmp_path / "test_ceiling.py").write_text(
        "def test_ceiling(placement):\n"
        "    with placement.client() as client:\n"
        "        assert client.get('/').json()['versions'][0]['max_version'] == '1.20'\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--placement-ref-max-microversion", "1.20", "test_ceiling.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
