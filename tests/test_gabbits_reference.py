"""Run every gabbi scenario in gabbits/ against the reference server, in-process.

The same scenarios pass against upstream Placement (test_gabbits_upstream.py); here they
hold the reference server to them without a socket: gabbi calls the application through
a WSGI adapter, and the conformance fixture cleans up through the same application.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from a2wsgi import ASGIMiddleware
from gabbi.driver import test_pytest  # noqa: F401  (the test function gabbi parametrizes)

from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.gabbi_generation import generate


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.function is not test_pytest:
        return
    application = _application(metafunc.config)
    os.environ.setdefault("PLACEMENT_TOKEN", "admin")
    generate(metafunc, intercept=lambda: application)


def _application(config: pytest.Config):
    """One reference server for the session, on a scratch SQLite file, checking its own
    responses against the spec."""
    stack = contextlib.ExitStack()
    config.add_cleanup(stack.close)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="placement-ref-")))
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'gabbits.db'}",
                              validate_responses=True))
    return ASGIMiddleware(app)
