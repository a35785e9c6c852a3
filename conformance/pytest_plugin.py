"""The harness's pytest options: which deployment to check, and how hard to fuzz it.

    pytest --pyargs conformance.run_tests --placement-url URL [--placement-token T]
           [--placement-microversions 1.12,1.28] [--placement-known-deviations FILE]
           [--placement-front-end-refusals report|fail]
    pytest --pyargs conformance.fuzz_tests --placement-url URL [--placement-token T]
           [--placement-microversions 1.12,1.28] [--fuzz-max-examples N] [--fuzz-seed S]
           [--fuzz-stateful] [--fuzz-known-deviations FILE]

pytest loads this module by itself wherever the package is installed (entry point
`pytest11`), so the options are there in any pytest run; they mean something only to the
test modules of the harness, `conformance.run_tests` and `conformance.fuzz_tests`, which
share the fixture `placement_target` defined here. They are the
`placement-conformance` command's (`conformance.options`), named for pytest: they default
to `PLACEMENT_URL` and `PLACEMENT_TOKEN`, and without a token the `OS_*` variables
authenticate through Keystone. The module imports nothing heavy unless its options are
used, so that loading it costs other projects' test runs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Iterator

import pytest

from conformance.options import add_fuzz_options, add_run_options, add_target_options, new_seed

SEED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("placement", "Placement conformance (placement-contract)")
    add_target_options(group.addoption, prefix="--placement-")
    add_run_options(group.addoption, prefix="--placement-")
    add_fuzz_options(group.addoption, prefix="--fuzz-")


def pytest_configure(config: pytest.Config) -> None:
    microversions = config.getoption("--placement-microversions")
    if microversions != "all":
        # Here rather than at collection, so that a typo is one line, not a traceback.
        from conformance.exits import UsageError
        from conformance.target import named_microversions
        try:
            named_microversions(microversions, option="--placement-microversions")
        except UsageError as error:
            raise pytest.UsageError(str(error)) from error
    # One seed for the whole session, chosen before anything runs so that the header
    # can print it: a failed run is repeated with --fuzz-seed.
    seed = config.getoption("--fuzz-seed")
    config.stash[SEED] = seed if seed is not None else new_seed()


@contextlib.contextmanager
def usage_errors_end_the_session() -> Iterator[None]:
    """A usage or connection error ends the pytest session with pytest's usage code and
    the command's one line, as it ends `placement-conformance`."""
    from conformance.exits import UsageError
    try:
        yield
    except UsageError as error:
        pytest.exit(f"placement-conformance: {error}", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def placement_target(pytestconfig: pytest.Config):
    """The deployment of `--placement-url`, with the microversions its `GET /` advertises."""
    from conformance.target import connect
    arguments = argparse.Namespace(**{
        name.replace("-", "_"): pytestconfig.getoption(f"--placement-{name}")
        for name in ("url", "token", "cacert", "insecure", "front-end-refusals")})
    with usage_errors_end_the_session():
        return connect(arguments)


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = config.getoption("--placement-url")
    if not url:
        return []
    return [f"placement: {url}, microversions "
            f"{config.getoption('--placement-microversions')}, "
            f"fuzz seed {config.stash[SEED]}"]
