"""The harness's pytest options: which deployment to check, and how hard to fuzz it.

    pytest --pyargs conformance.fuzz_tests --placement-url URL [--placement-token T]
           [--placement-microversions 1.12,1.28] [--fuzz-max-examples N] [--fuzz-seed S]
           [--fuzz-stateful]

pytest loads this module by itself wherever the package is installed (entry point
`pytest11`), so the options are there in any pytest run; they mean something only to the
test modules of the harness, such as `conformance.fuzz_tests`. The module imports
nothing beyond pytest unless its options are used, so that loading it costs other
projects' test runs nothing.

The options default to the variables the `placement-conformance` command reads
(`PLACEMENT_URL`, `PLACEMENT_TOKEN`), and without a token the `OS_*` variables
authenticate through Keystone, as with the command.
"""

from __future__ import annotations

import os
import uuid

import pytest

SEED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("placement", "Placement conformance (placement-contract)")
    group.addoption("--placement-url", default=os.environ.get("PLACEMENT_URL"),
                    help="the Placement endpoint to check (default: $PLACEMENT_URL, or the "
                         "Keystone catalog when OS_* variables are set)")
    group.addoption("--placement-token", default=os.environ.get("PLACEMENT_TOKEN"),
                    help="an admin token (default: $PLACEMENT_TOKEN; without one, OS_* "
                         "variables authenticate through Keystone)")
    group.addoption("--placement-microversions", default="all",
                    help="a range (1.0-1.39), a list (1.12,1.28) or 'all' (default); a "
                         "microversion the deployment does not serve is skipped")
    group.addoption("--fuzz-max-examples", type=int,
                    help="examples per operation and phase (default: as "
                         "placement-conformance fuzz)")
    group.addoption("--fuzz-seed", type=int, help="the seed of a run to repeat")
    group.addoption("--fuzz-stateful", action="store_true",
                    help="also follow the spec's links: provider, inventory, allocations")


def pytest_configure(config: pytest.Config) -> None:
    max_examples = config.getoption("--fuzz-max-examples")
    if max_examples is not None and max_examples < 1:
        raise pytest.UsageError("--fuzz-max-examples must be at least 1")
    microversions = config.getoption("--placement-microversions")
    if microversions != "all":
        from conformance.cli import UsageError
        from conformance.target import named_microversions
        try:
            named_microversions(microversions, option="--placement-microversions")
        except UsageError as error:
            raise pytest.UsageError(str(error)) from error
    # One seed for the whole session, chosen before anything runs so that the header
    # can print it: a failed run is repeated with --fuzz-seed.
    seed = config.getoption("--fuzz-seed")
    config.stash[SEED] = seed if seed is not None else uuid.uuid4().int % 2**32


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = config.getoption("--placement-url")
    if not url:
        return []
    return [f"placement: {url}, microversions "
            f"{config.getoption('--placement-microversions')}, "
            f"fuzz seed {config.stash[SEED]}"]
