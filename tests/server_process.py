"""`placement-ref serve` as a real process, for tests that must cross a socket."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx

from tests.databases import scratch_database

_URL_LINE = re.compile(r"on (http://\S+)")


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)  # the server's log lines so far

    @property
    def log(self) -> str:
        return "".join(self.output)


def serve_command() -> list[str]:
    """The installed console script, or the module when only the source is at hand."""
    script = shutil.which("placement-ref")
    return [script] if script else [sys.executable, "-m", "reference_impl.cli"]


@contextlib.contextmanager
def running_server(db_url: str, *, workers: int = 1, token: str = "admin",
                   extra: tuple[str, ...] = (), startup_timeout: float = 60,
                   ) -> Iterator[ServerProcess]:
    """Start the server on a free loopback port; stop it, and its workers, at exit."""
    process = subprocess.Popen(
        [*serve_command(), "serve", "--port", "0", "--db-url", db_url,
         "--workers", str(workers), "--token", token, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        server = ServerProcess(_announced_url(process), process)
        # Drain the log as it comes: a full pipe would stop the server mid-response.
        threading.Thread(target=server.output.extend, args=(process.stdout,), daemon=True).start()
        _wait_until_serving(server, startup_timeout)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()



@contextlib.contextmanager
def serving_scratch_database(backend: str, folder: Path, *, workers: int,
                             ) -> Iterator[ServerProcess]:
    """The server with `workers` workers on a new, empty database of `backend`: for the
    tests of several workers racing on one database."""
    with scratch_database(backend, folder) as db_url, \
            running_server(db_url, workers=workers) as server:
        yield server

def _announced_url(process: subprocess.Popen) -> str:
    line = process.stdout.readline()
    match = _URL_LINE.search(line)
    if not match:
        raise RuntimeError(f"placement-ref did not announce its URL: {line!r}")
    return match.group(1)


def _wait_until_serving(server: ServerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"placement-ref exited: {server.log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(server.url + "/", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"placement-ref did not answer on {server.url} within {timeout}s")
