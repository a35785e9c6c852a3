"""The gabbi fixture: fresh, clearly marked data for each feature file, removed after it.

The conformance suite must run against a shared Placement that holds other people's data,
twice in a row, and several times at once. So no scenario names a provider, consumer or
resource class of its own: each YAML file lists the `ConformanceData` fixture, which gives
the file brand-new identifiers through environment variables (read in the YAML as
`$ENVIRON['RP1']`, `$ENVIRON['CONSUMER1']`...) and deletes, through the API, what the
file made. Names carry the run id and the file (`conformance-<run id>-<file>-rp1`,
`CUSTOM_CONFORMANCE_<RUN ID>_<FILE>` for a class or a trait, see `conformance.naming`), so
leftovers can be traced and nothing else is touched. Aggregates are new uuids, which no one
else uses; they vanish with the file's providers.

gabbi makes a file's fixture without arguments, so the fixture is bound to its file after
the tests are built (`bind`), and takes the run's settings from the environment: the token
(`PLACEMENT_TOKEN`), the run id (`CONFORMANCE_RUN_ID`, made up when unset) and whether to
keep the data for debugging (`CONFORMANCE_KEEP_DATA`, any non-empty value).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Iterable

import httpx
from gabbi.fixture import GabbiFixture

from conformance import cleanup
from conformance.naming import (
    new_run_id,
    run_class_prefix,
    run_provider_prefix,
    run_trait_prefix,
    slug,
)

# Allocation candidates need trees, siblings and sharing providers: seven providers.
PROVIDER_COUNT = 7
CONSUMER_COUNT = 4
AGGREGATE_COUNT = 2

TOKEN_VARIABLE = "PLACEMENT_TOKEN"
RUN_ID_VARIABLE = "CONFORMANCE_RUN_ID"
KEEP_DATA_VARIABLE = "CONFORMANCE_KEEP_DATA"
# Set: the deployment's TLS certificate is not checked (--insecure).
INSECURE_VARIABLE = "CONFORMANCE_INSECURE"

# What each run's files were given, by run id, so that a runner can tell which consumers
# the run used (and, with the data kept, where to look).
ISSUED: dict[str, list[FeatureData]] = {}


@dataclass(frozen=True)
class FeatureData:
    """The identifiers one feature file may use; all of them are new for each file run."""

    run_id: str
    feature: str
    providers: tuple[str, ...]
    consumers: tuple[str, ...]
    aggregates: tuple[str, ...] = ()

    @classmethod
    def fresh(cls, run_id: str, feature: str) -> FeatureData:
        return cls(
            run_id=run_id,
            feature=feature,
            providers=tuple(str(uuid.uuid4()) for _ in range(PROVIDER_COUNT)),
            consumers=tuple(str(uuid.uuid4()) for _ in range(CONSUMER_COUNT)),
            aggregates=tuple(str(uuid.uuid4()) for _ in range(AGGREGATE_COUNT)),
        )

    @property
    def provider_name_prefix(self) -> str:
        return run_provider_prefix(self.run_id) + f"{slug(self.feature, '-')}-".lower()

    @property
    def custom_resource_class(self) -> str:
        return run_class_prefix(self.run_id) + slug(self.feature, "_").upper()

    @property
    def custom_resource_classes(self) -> tuple[str, str, str]:
        """The three classes a file may create (CUSTOM_RC, CUSTOM_RC_B, CUSTOM_RC_C): a
        candidate request that names only these can match no one else's provider."""
        base = self.custom_resource_class
        return base, f"{base}_B", f"{base}_C"

    @property
    def undefined_resource_class(self) -> str:
        """A valid class name that is never created: the "unknown resource class" case."""
        return self.custom_resource_class + "_UNDEFINED"

    @property
    def custom_traits(self) -> tuple[str, str]:
        """The two traits a file may create (CUSTOM_TRAIT, CUSTOM_TRAIT_B)."""
        trait = run_trait_prefix(self.run_id) + slug(self.feature, "_").upper()
        return trait, f"{trait}_B"

    @property
    def undefined_trait(self) -> str:
        """A valid trait name that is never created: the "unknown trait" case."""
        return self.custom_traits[0] + "_UNDEFINED"

    def environment(self) -> dict[str, str]:
        """The variables the YAML reads: RPn/RPn_NAME, CONSUMERn (and CONSUMERn_UPPER_HEX,
        the same uuid as 32 upper-case digits without dashes), classes, traits,
        aggregates (AGGREGATEn), two projects and two users (PROJECT_ID, PROJECT_ID_B...).

        A scenario that needs another provider names it RP_NAME_PREFIX + a suffix without
        "-", so that the cleanup finds it.
        """
        variables = {
            "RP_NAME_PREFIX": self.provider_name_prefix,
            "CUSTOM_RC": self.custom_resource_classes[0],
            "CUSTOM_RC_B": self.custom_resource_classes[1],
            "CUSTOM_RC_C": self.custom_resource_classes[2],
            "UNDEFINED_RC": self.undefined_resource_class,
            "CUSTOM_TRAIT": self.custom_traits[0],
            "CUSTOM_TRAIT_B": self.custom_traits[1],
            "UNDEFINED_TRAIT": self.undefined_trait,
            # Never created: the "unknown resource provider" case.
            "MISSING_RP": str(uuid.uuid4()),
            "PROJECT_ID": str(uuid.uuid4()),
            "USER_ID": str(uuid.uuid4()),
            # A second project and user, whose allocations a filter must leave out.
            "PROJECT_ID_B": str(uuid.uuid4()),
            "USER_ID_B": str(uuid.uuid4()),
        }
        for number, provider in enumerate(self.providers, start=1):
            variables[f"RP{number}"] = provider
            variables[f"RP{number}_NAME"] = f"{self.provider_name_prefix}rp{number}"
        for number, consumer in enumerate(self.consumers, start=1):
            variables[f"CONSUMER{number}"] = consumer
            variables[f"CONSUMER{number}_UPPER_HEX"] = consumer.replace("-", "").upper()
        for number, aggregate in enumerate(self.aggregates, start=1):
            variables[f"AGGREGATE{number}"] = aggregate
        return variables


class ConformanceData(GabbiFixture):
    """Give one feature file fresh identifiers, then delete what the file left behind."""

    # The first test (a class) of the file this fixture serves, set by `bind`: it carries
    # the file's stem (`test_base_name`) and where the tests send requests (`host`,
    # `port`, `prefix`, or `intercept` for an application in this process), which is
    # where cleanup goes too.
    feature_test: type | None = None

    def start_fixture(self) -> None:
        if self.feature_test is None:
            raise RuntimeError("ConformanceData must be bound to its feature file: "
                               "build the tests with conformance.features.build_tests")
        if TOKEN_VARIABLE not in os.environ:
            raise RuntimeError(f"{TOKEN_VARIABLE} must be set: the data is removed through the API")
        run_id = os.environ.setdefault(RUN_ID_VARIABLE, new_run_id())
        self.data = FeatureData.fresh(run_id, self.feature_test.test_base_name)
        ISSUED.setdefault(run_id, []).append(self.data)
        os.environ.update(self.data.environment())

    def stop_fixture(self) -> None:
        if os.environ.get(KEEP_DATA_VARIABLE):
            return
        with _placement_client(self.feature_test) as client:
            _remove_feature_data(client, self.data)


def bind(file_suites: Iterable) -> None:
    """Give the tests of each feature file (a gabbi suite per file) a `ConformanceData` of
    their own, that knows the file: gabbi makes a file's fixtures without arguments."""
    for file_suite in file_suites:
        tests = [test for test in file_suite if hasattr(test, "test_base_name")]
        if not tests:
            continue
        bound = type(ConformanceData.__name__, (ConformanceData,),
                     {"feature_test": type(tests[0])})
        for test in tests:
            type(test).fixtures = [bound if fixture is ConformanceData else fixture
                                   for fixture in type(test).fixtures]


def _placement_client(target: type) -> httpx.Client:
    """An admin client of the service the file's tests talk to, at the newest
    microversion, where every cleanup call exists."""
    if target.intercept:
        transport = httpx.WSGITransport(app=target.intercept())
        base_url = f"http://{target.host or 'placement.test'}{target.prefix or ''}"
    else:
        transport = None
        scheme = "https" if target.test_data["ssl"] else "http"
        base_url = f"{scheme}://{target.host}:{target.port}{target.prefix or ''}"
    return httpx.Client(
        transport=transport,
        base_url=base_url,
        headers={
            "x-auth-token": os.environ[TOKEN_VARIABLE],
            "openstack-api-version": "placement latest",
            "accept": "application/json",
        },
        timeout=30,
        verify=not os.environ.get(INSECURE_VARIABLE),
    )


def _remove_feature_data(client: httpx.Client, data: FeatureData) -> None:
    """Delete the file's allocations, then its providers, then its classes and traits.

    Only providers named the file's prefix + a suffix without "-" are the file's: the
    suffix rule keeps file `a` (prefix `...-a-`) off the providers of file `a-b`
    (named `...-a-b-rp1`).
    """
    prefix = data.provider_name_prefix
    providers = [provider for provider in cleanup.providers(client)
                 if provider["name"].startswith(prefix)
                 and "-" not in provider["name"][len(prefix):]]
    refused = cleanup.delete_all(client, cleanup.paths_in_order(
        data.consumers, cleanup.children_first(providers),
        (*data.custom_resource_classes, data.undefined_resource_class), data.custom_traits))
    if refused:
        raise RuntimeError("conformance data left behind:\n"
                           + "\n".join(f"DELETE {path}: {answer}" for path, answer in refused))
