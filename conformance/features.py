"""The feature files of gabbits/: where they are, their tests, and the microversions each
uses.

A feature is one YAML file of gabbi scenarios, named by its stem (`capacity`). Its steps
build on one another, so a runner runs a feature whole or skips it whole; which
microversions it needs is read from the file itself, so it cannot drift from the
scenarios.
"""

from __future__ import annotations

import unittest
from dataclasses import dataclass
from pathlib import Path

import yaml
from gabbi import driver
from gabbi.case import HTTPTestCase

from conformance import candidate_checks, fixtures
from conformance.roles import AllowedRoles
from placement_spec import Microversion, Range
from placement_spec.microversion import named_in_header

# Where tests that are only listed, never run, are said to send their requests.
NOWHERE = {"url": "http://placement.test"}


def gabbits_folder() -> Path:
    """The scenarios: installed inside the package, or at the top of a checkout."""
    installed = Path(__file__).with_name("gabbits")
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "gabbits"


def opt_in_folder() -> Path:
    """The features a run takes only when `--only` names them (the policies, which are a
    deployment's own choice): beside the others, out of a plain run's way."""
    return gabbits_folder() / "opt-in"


def feature_names() -> list[str]:
    """The features a plain run takes."""
    return sorted(path.stem for path in gabbits_folder().glob("*.yaml"))


def opt_in_names() -> list[str]:
    return sorted(path.stem for path in opt_in_folder().glob("*.yaml"))


def build_tests(location: dict, opt_in: frozenset[str] = frozenset()
                ) -> list[tuple[HTTPTestCase, ...]]:
    """gabbi's tests for every feature file, and for the `opt_in` features named, a tuple
    per file, in the order of the features' names, each file's fixture bound to it;
    `location` says where their requests go (gabbi's `build_tests` keywords: `url`, or
    `intercept`)."""
    folders = [gabbits_folder()] + ([opt_in_folder()] if opt_in else [])
    files = []
    for folder in folders:
        suite = driver.build_tests(str(folder), unittest.TestLoader(),
                                   test_loader_name=__name__, fixture_module=fixtures,
                                   response_handlers=[AllowedRoles, *candidate_checks.HANDLERS],
                                   **location)
        fixtures.bind(suite)
        for file_suite in suite:
            tests = tuple(file_suite)
            if folder == gabbits_folder() or tests[0].test_base_name in opt_in:
                files.append(tests)
    return sorted(files, key=lambda tests: tests[0].test_base_name)


@dataclass(frozen=True)
class Scenario:
    """One test of a feature file, as a run reports it."""

    feature: str
    name: str
    microversion: str | None


def scenarios() -> list[Scenario]:
    """Every test of every feature, in the order a run takes them, without running any."""
    return [Scenario(test.test_base_name, test.test_data["name"],
                     requested_microversion(test.test_data))
            for tests in build_tests(NOWHERE) for test in tests]


def microversion_range(feature: str) -> Range:
    """The lowest and highest microversion a feature's requests name.

    Left out: requests that expect 406, which name a version no deployment may serve on
    purpose, and headers that are not "placement X.Y" ("latest", malformed ones, none),
    which any deployment can be sent.
    """
    path = gabbits_folder() / f"{feature}.yaml"
    suite = yaml.safe_load((path if path.exists() else opt_in_folder() / path.name).read_text())
    default = _version_header(suite.get("defaults", {}))
    versions = []
    for test in suite["tests"]:
        named = named_in_header(_version_header(test) or default)
        if named and str(test.get("status")) != "406":
            versions.append(Microversion.parse(named))
    return Range(min(versions), max(versions))


def requested_microversion(test: dict) -> str | None:
    """What a gabbi test (its data, defaults merged in) asks for: "X.Y", "latest", or
    whatever follows "placement" in its version header; None when it sends no header."""
    header = _version_header(test)
    return header.split(maxsplit=1)[-1] if header else None


def _version_header(test: dict) -> str | None:
    headers = {name.lower(): value for name, value in test.get("request_headers", {}).items()}
    return headers.get("openstack-api-version")
