"""The README's first screen stays true: its curl session works against the server."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server_process import running_server

README = Path(__file__).resolve().parent.parent / "README.md"


def _session_script() -> str:
    text = README.read_text(encoding="utf-8")
    session = text.split("## A short session", 1)[1]
    return re.search(r"```sh\n(.*?)```", session, re.DOTALL).group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's session uses curl")
def test_the_curl_session_claims_reads_and_frees(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'readme.db'}") as server:
        script = _session_script().replace("http://127.0.0.1:8778", server.url)
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    statuses = re.findall(r" (\d{3})$", result.stdout, re.MULTILINE)
    assert statuses == ["200", "200", "204", "200", "204"], result.stdout
    assert '"VCPU": 2' in result.stdout
