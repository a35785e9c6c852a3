"""The harness's options, stated once for the command line and for pytest.

Each function takes `add_option`, which is argparse's `add_argument` for
`placement-conformance` or a pytest option group's `addoption` for the plugin, and the
prefix of the options' names: `--url` on the command line, `--placement-url` under
pytest, where options of every plugin share one namespace. The module imports nothing
heavy, because pytest loads it in every run through `conformance.pytest_plugin`.
"""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path
from typing import Any, Callable

from conformance.front_end import Policy

AddOption = Callable[..., Any]

DEFAULT_MAX_EXAMPLES = 20


def add_target_options(add_option: AddOption, prefix: str = "--") -> None:
    """Which deployment to check, how to authenticate, at which microversions."""
    add_option(f"{prefix}url", default=os.environ.get("PLACEMENT_URL"),
               help="the Placement endpoint (default: $PLACEMENT_URL, or the Keystone "
                    "catalog when OS_* variables are set)")
    add_option(f"{prefix}token", default=os.environ.get("PLACEMENT_TOKEN"),
               help="an admin token (default: $PLACEMENT_TOKEN; without one, OS_* "
                    "variables authenticate through Keystone)")
    add_option(f"{prefix}cacert", metavar="FILE", default=os.environ.get("OS_CACERT"),
               help="check the deployment's TLS certificate against this CA bundle "
                    "(default: $OS_CACERT, else the system's authorities)")
    add_option(f"{prefix}insecure", action="store_true",
               help="do not check the deployment's TLS certificate")
    add_option(f"{prefix}microversions", default="all",
               help="a range (1.0-1.39), a list (1.12,1.28) or 'all' that the deployment "
                    "advertises (default: all); one it does not serve is skipped")
    add_option(f"{prefix}front-end-refusals", choices=[policy.value for policy in Policy],
               default=Policy.REPORT.value,
               help="a request that the deployment's front end (web server, proxy) refused "
                    "instead of Placement, a 413, 414 or 431 without Placement's error body "
                    "or a 502, 503 or 504: 'report' it as not reached (the default), or "
                    "'fail' the run, when the deployment must accept every request sent")


def add_run_options(add_option: AddOption, prefix: str = "--") -> None:
    """What the gabbi scenarios' results mean for this deployment."""
    _add_known_deviations(add_option, f"{prefix}known-deviations", "{feature, test, reason}")


def add_fuzz_options(add_option: AddOption, prefix: str = "--") -> None:
    """How hard to fuzz, from which seed, whether to follow the spec's links, and which
    failures are known."""
    add_option(f"{prefix}max-examples", type=_at_least_one, default=DEFAULT_MAX_EXAMPLES,
               help="examples per operation and phase (default: %(default)s)")
    add_option(f"{prefix}seed", type=int, help="the seed of a run to repeat")
    add_option(f"{prefix}stateful", action="store_true",
               help="also follow the spec's links: provider, inventory, allocations")
    _add_known_deviations(add_option, f"{prefix}known-deviations",
                          "{check, operation, reason}")


def _add_known_deviations(add_option: AddOption, name: str, entries: str) -> None:
    add_option(name, type=Path, metavar="FILE",
               help=f"a YAML list of {entries}: these failures are reported as known "
                    f"deviations and do not fail the run")


def new_seed() -> int:
    """A seed for a run that was given none; printed, so that the run can be repeated."""
    return uuid.uuid4().int % 2**32


def _at_least_one(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number
