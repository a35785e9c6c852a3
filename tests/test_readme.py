"""The README's recipes stay true: its curl session works against the server, and its CI
recipe for client developers starts a server their tests can reach."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.peer import free_port
from tests.server_process import running_server

README = Path(__file__).resolve().parent.parent / "README.md"


def _script_after(words: str) -> str:
    """The first shell block of the README after `words`."""
    text = README.read_text(encoding="utf-8").split(words, 1)[1]
    return re.search(r"```sh\n(.*?)```", text, re.DOTALL).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's session uses curl")
def test_the_curl_session_claims_reads_and_frees(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'readme.db'}") as server:
        script = _script_after("## A short session").replace("http://127.0.0.1:8778", server.url)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    statuses = re.findall(r" (\d{3})$", result.stdout, re.MULTILINE)
    assert statuses == ["200", "200", "204", "200", "204"], result.stdout
    assert '"VCPU": 2' in result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's CI recipe uses curl")
def test_the_ci_recipe_serves_a_fresh_server_to_the_client_tests(tmp_path):
    port, answer = str(free_port()), tmp_path / "answer.json"
    # The client's tests: one request, which needs the server up and the variables set.
    client_tests = (f"sh -c 'curl -sf -H \"x-auth-token: $PLACEMENT_TOKEN\" "
                    f"\"$PLACEMENT_URL/resource_providers\" > {answer}'")
    script = (_script_after("A client's CI job can start a fresh server")
              .replace("8778", port).replace("my-client-tests", client_tests))
    # The server the recipe starts in the background keeps running, and its output open,
    # after the script ends: wait for the script, not for its output.
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env={**os.environ, "PATH": _path()})
    try:
        assert process.wait(timeout=60) == 0
    finally:
        os.killpg(process.pid, signal.SIGTERM)
    assert json.loads(answer.read_text()) == {"resource_providers": []}


def _path() -> str:
    """PATH with this interpreter's scripts first, where `placement-ref` is installed."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
