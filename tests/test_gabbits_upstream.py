"""Run every gabbi scenario in gabbits/ against upstream Placement.

The scenarios claim to describe Placement. Running them against the real service (16.0.0,
started from the virtualenv named by PLACEMENT_PEER_VENV) is what keeps that claim true: a
scenario that fails here is wrong, not the service. The peer starts once, when this module's
tests are generated, and stops when the pytest session ends.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from gabbi.driver import test_pytest  # noqa: F401  (the test function gabbi parametrizes)

from tests.gabbi_generation import generate
from tests.peer import RunningPeer, peer_venv, peer_venv_problem, running_peer


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Turn each YAML test into a pytest test aimed at the running peer."""
    if metafunc.function is not test_pytest:
        return
    if peer_venv_problem():
        # No peer, no scenarios to aim at it: one test stands in for them all, and is
        # skipped saying why (failed, when PLACEMENT_TEST_REQUIRE names the peer).
        metafunc.parametrize("test, result", [(peer_venv, None)], ids=["upstream Placement"])
        return
    peer = _start_peer_for_session(metafunc.config)
    os.environ["PLACEMENT_TOKEN"] = "admin"  # the token noauth2 gives the admin role
    generate(metafunc, url=peer.url)


def _start_peer_for_session(config: pytest.Config) -> RunningPeer:
    """Start the peer in a scratch folder; the folder and the server go at session end."""
    stack = contextlib.ExitStack()
    config.add_cleanup(stack.close)
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="placement-peer-")))
    return stack.enter_context(running_peer(peer_venv(), workdir))
