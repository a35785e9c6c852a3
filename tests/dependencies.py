"""What some tests need from outside the project, and what becomes of them without it.

Comparing with upstream Placement, driving the official clients, running on PostgreSQL or
MariaDB, reading Placement's api-ref and opening the HTML reports in a real browser each
need something this project cannot install by itself. Without it, those tests are skipped, each saying what is missing and how to
provide it, so that a developer can run the rest. A CI run must never pass by skipping
them: `PLACEMENT_TEST_REQUIRE`, a comma-separated list of the names below
(`peer,clients,postgresql,mysql,api-ref,browser`), turns the skip of each named dependency into a
failure. tox sets it to what tox builds (the peer and the clients), .ci/run to all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_VARIABLE = "PLACEMENT_TEST_REQUIRE"

HOW_TO_PROVIDE = {
    "peer": "set PLACEMENT_PEER_VENV to a virtualenv with openstack-placement==16.0.0 and "
            "gunicorn (`tox -e upstream` builds one in .tox/upstream)",
    "clients": "set PLACEMENT_CLIENTS_VENV to a virtualenv with python-openstackclient, "
               "osc-placement and openstacksdk (`tox -e clients` builds one in .tox/clients)",
    "postgresql": "set PLACEMENT_TEST_POSTGRESQL_URL to a PostgreSQL server on which the "
                  "tests may create databases, e.g. "
                  "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "set PLACEMENT_TEST_MYSQL_URL to a MariaDB or MySQL server on which the tests "
             "may create databases, e.g. mysql+pymysql://root@127.0.0.1:3306/test",
    "api-ref": "set PLACEMENT_API_REF to the api-ref source of Placement 16.0.0 "
               "(api-ref/source in openstack/placement), or put it in ../shared/api-ref "
               "beside the project",
    "browser": "install Chromium and its driver from Debian's packages "
               "(`apt-get install chromium chromium-driver`, as .ci/run does), so that "
               "`chromium` and `chromedriver` are on PATH",
}


def required() -> frozenset[str]:
    """The dependencies PLACEMENT_TEST_REQUIRE names; a name it does not know is an error,
    since a misspelt name would quietly let its tests skip."""
    named = {name.strip() for name in os.environ.get(REQUIRE_VARIABLE, "").split(",")}
    named.discard("")
    unknown = named - HOW_TO_PROVIDE.keys()
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_VARIABLE} names {', '.join(sorted(unknown))}, which no test needs; "
            f"it takes a comma-separated list of {', '.join(HOW_TO_PROVIDE)}")
    return frozenset(named)


def unavailable(dependency: str, problem: str) -> NoReturn:
    """Stop the current test for want of `dependency`, saying what is wrong (`problem`)
    and how to provide it: a skip, or a failure when PLACEMENT_TEST_REQUIRE names it."""
    message = f"{problem}; {HOW_TO_PROVIDE[dependency]}"
    if dependency in required():
        pytest.fail(f"{message} ({REQUIRE_VARIABLE} requires {dependency})", pytrace=False)
    pytest.skip(message)


def virtualenv_problem(variable: str, programs: tuple[str, ...]) -> str | None:
    """What is wrong with the virtualenv the environment variable `variable` names: unset,
    not there, or without one of `programs` in its bin/; None when it has them all."""
    venv = os.environ.get(variable)
    if not venv:
        return f"{variable} is not set"
    if not Path(venv).is_dir():
        return f"{variable}={venv} is not a folder"
    absent = [f"bin/{program}" for program in programs
              if not (Path(venv) / "bin" / program).is_file()]
    if absent:
        return f"{variable}={venv} has no {' nor '.join(absent)}"
    return None


def virtualenv(dependency: str, variable: str, programs: tuple[str, ...]) -> Path:
    """The virtualenv that provides `dependency`, named by `variable` and holding
    `programs`; without a usable one the calling test is stopped (`unavailable`)."""
    problem = virtualenv_problem(variable, programs)
    if problem:
        unavailable(dependency, problem)
    return Path(os.environ[variable])
