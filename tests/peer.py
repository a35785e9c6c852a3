"""Run upstream OpenStack Placement on loopback, as the peer the contract is checked against.

The conformance suite claims to describe how Placement behaves. The only way to keep that
claim honest is to run the same scenarios against the real service, so this module starts
``openstack-placement`` from a virtualenv of its own (its ~70 dependencies must not mix with
this project's), with SQLite and ``noauth2``, and stops it again. It is test plumbing, not
part of the toolkit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.dependencies import virtualenv, virtualenv_problem

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


@dataclass(frozen=True)
class RunningPeer:
    """A started Placement: where to reach it, its process, and the folder holding its files."""

    url: str
    process: subprocess.Popen
    workdir: Path


# The virtualenv the peer runs from, and the programs it is started with.
PEER_VENV_VARIABLE = "PLACEMENT_PEER_VENV"
PEER_PROGRAMS = ("placement-manage", "gunicorn")


def peer_venv_problem() -> str | None:
    """What keeps the peer from starting here; None when it can start."""
    return virtualenv_problem(PEER_VENV_VARIABLE, PEER_PROGRAMS)


def peer_venv() -> Path:
    """The peer's virtualenv. Without a usable one the calling test is skipped, or failed
    when PLACEMENT_TEST_REQUIRE names the peer."""
    return virtualenv("peer", PEER_VENV_VARIABLE, PEER_PROGRAMS)


@dataclass(frozen=True)
class PeerPolicy:
    """How the peer decides a 403 and answers CORS: by default as 16.0.0's test fixtures
    run it (the legacy defaults, no policy file, no CORS)."""

    enforce_new_defaults: bool = False
    policy_file: Path | None = None
    cors_origin: str | None = None

    def config(self) -> str:
        """The placement.conf sections that say so."""
        text = f"[oslo_policy]\nenforce_new_defaults = {self.enforce_new_defaults}\n"
        if self.policy_file is not None:
            text += f"policy_file = {self.policy_file.resolve()}\n"
        if self.cors_origin is not None:
            text += f"[cors]\nallowed_origin = {self.cors_origin}\n"
        return text


@contextlib.contextmanager
def running_peer(venv: Path, workdir: Path, workers: int = 1,
                 policy: PeerPolicy = PeerPolicy()) -> Iterator[RunningPeer]:
    """Serve Placement from ``venv``, with its config and database in ``workdir``, until exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = _write_config(workdir, policy)
    _create_database(venv, config)
    port = free_port()
    with (workdir / "gunicorn.log").open("wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            _gunicorn_command(venv, port, workers),
            cwd=workdir,
            env={**os.environ, "OS_PLACEMENT_CONFIG_DIR": str(workdir)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the workers stop with it
        )
    try:
        peer = RunningPeer(url=f"http://127.0.0.1:{port}", process=process, workdir=workdir)
        _wait_until_serving(peer)
        yield peer
    finally:
        _stop(process)


def _write_config(workdir: Path, policy: PeerPolicy) -> Path:
    """Write placement.conf: no keystone, a SQLite file, and the policies chosen."""
    config = workdir / "placement.conf"
    database = (workdir / "placement.db").resolve()
    config.write_text(
        "[api]\n"
        "auth_strategy = noauth2\n"
        "[placement_database]\n"
        f"connection = sqlite:///{database}\n"
        + policy.config()
    )
    return config


def _create_database(venv: Path, config: Path) -> None:
    """Create the schema with placement-manage, as a deployment would before starting."""
    sync = subprocess.run(
        [str(venv / "bin" / "placement-manage"), "--config-file", str(config), "db", "sync"],
        capture_output=True,
        text=True,
    )
    if sync.returncode != 0:
        raise RuntimeError(f"placement-manage db sync failed:\n{sync.stderr[-3000:]}")


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gunicorn_command(venv: Path, port: int, workers: int) -> list[str]:
    """gunicorn with threaded workers (for keep-alive), bound to loopback only."""
    gunicorn = str(venv / "bin" / "gunicorn")
    command = [
        gunicorn,
        "--worker-class", "gthread",
        "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}",
        "placement.wsgi.api:application",
    ]
    if _supports_option(gunicorn, "--no-control-socket"):
        # Newer gunicorn opens a control socket in the home folder, shared by every run.
        command.insert(1, "--no-control-socket")
    return command


def _supports_option(program: str, option: str) -> bool:
    """Whether ``program --help`` mentions ``option``."""
    help_text = subprocess.run([program, "--help"], capture_output=True, text=True).stdout
    return option in help_text


def _wait_until_serving(peer: RunningPeer) -> None:
    """Poll ``GET /`` (which needs no token) until it answers, or fail with the server's log."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if peer.process.poll() is not None:
            break
        try:
            with _DIRECT.open(peer.url + "/", timeout=2):
                return
        # Not listening yet, or listening but still loading the application (a timeout,
        # on a busy machine): either way, ask again.
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    log = (peer.workdir / "gunicorn.log").read_text(errors="replace")
    raise RuntimeError(f"Placement did not start at {peer.url}:\n{log[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Terminate the whole process group (arbiter and workers), killing it if it lingers."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Signal the process group led by ``process``; it may already be gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
