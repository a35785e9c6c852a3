"""The reference server for a client developer's tests, as pytest fixtures.

    def test_my_client(placement):          # a server reset for this test
        client = MyClient(placement.url, token=placement.admin_token)
        ...
        assert placement.journal(method="PUT")[-1]["response"]["status"] == 204

`placement_server` starts the server once per session, in this process (uvicorn in a
thread, on a free loopback port, on a SQLite file in the session's temporary folder)
with its control API; `placement` is the same server, reset before each test that asks
for it (milliseconds: rows deleted, not a restart). Both are a
`reference_impl.testing.ReferenceServer`.

pytest loads this module wherever the package is installed (entry point `pytest11`,
beside the harness's `conformance.pytest_plugin`, whose options are `--placement-*`;
these are `--placement-ref-*`). It imports the server only when a test asks for it, so
that loading it costs other test runs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

if TYPE_CHECKING:
    from reference_impl.testing import ReferenceServer

ADMIN_TOKEN = "admin"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("placement-ref", "the Placement reference server for client tests")
    group.addoption("--placement-ref-strict", action="store_true", default=False,
                    help="serve as the api-ref says where upstream Placement 16.0.0 has a "
                         "known bug (placement-ref serve --strict)")
    group.addoption("--placement-ref-max-microversion", default="", metavar="X.Y",
                    help="serve no microversion newer than this, as an older Placement "
                         "(placement-ref serve --max-microversion)")


@pytest.fixture(scope="session")
def placement_server(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceServer]:
    """The reference server with its control API, for the whole session."""
    from reference_impl.app import create_app
    from reference_impl.config import Settings
    from reference_impl.testing import ReferenceServer, serve_in_thread

    database = tmp_path_factory.mktemp("placement-ref") / "placement.db"
    settings = Settings(db_url=f"sqlite:///{database}", admin_token=ADMIN_TOKEN, control=True,
                        strict=request.config.getoption("placement_ref_strict"),
                        max_microversion=request.config.getoption(
                            "placement_ref_max_microversion"))
    with serve_in_thread(create_app(settings)) as url:
        server = ReferenceServer(url=url, admin_token=ADMIN_TOKEN)
        try:
            yield server
        finally:
            server.close()


@pytest.fixture
def placement(placement_server: ReferenceServer) -> ReferenceServer:
    """The session's reference server, reset: no providers, consumers or custom names, an
    empty journal, and the faults of the start."""
    placement_server.reset()
    return placement_server
