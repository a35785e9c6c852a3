"""The data a fuzz run keeps on the deployment: how it is named, the fixtures that give
generated claims somewhere to land, and its removal at the end.

Everything the run creates is conformance data of this run (`conformance.naming`), so
that it can share a deployment with real users and with other runs; `conformance_data`
removes all of it however the run ends, and says what could not be removed.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import httpx

from conformance.cleanup import remove_run_data
from conformance.exits import UsageError
from conformance.naming import new_run_id, run_class_prefix, run_provider_prefix
from conformance.target import Target


@dataclass(frozen=True)
class RunNames:
    """How everything this run creates is named, so that it can be found and removed."""

    run_id: str

    @property
    def provider_prefix(self) -> str:
        """Every provider of the run starts with this; generated ones add `fuzz-`."""
        return run_provider_prefix(self.run_id)

    @property
    def class_prefix(self) -> str:
        return run_class_prefix(self.run_id)

    @property
    def fixture_providers(self) -> tuple[str, ...]:
        return (f"{self.provider_prefix}fixture-1", f"{self.provider_prefix}fixture-2")

    @property
    def fixture_classes(self) -> tuple[str, ...]:
        return tuple(f"{self.class_prefix}FIXTURE_{letter}" for letter in "ABC")

    def provider_name(self, generated: str, serial: int | None = None) -> str:
        """The run's name for a generated provider name; `serial` makes it unique."""
        prefix = f"{self.provider_prefix}fuzz-"
        if serial is None:
            return _prefixed(prefix, generated, 200)
        return _prefixed(f"{prefix}{serial}-", generated.removeprefix(prefix), 200)

    def class_name(self, generated: str) -> str:
        """`CUSTOM_X` becomes a class of the run; any other name is left to be refused."""
        if not generated.startswith("CUSTOM_") or generated.startswith(self.class_prefix):
            return generated
        return _prefixed(f"{self.class_prefix}FUZZ_", generated.removeprefix("CUSTOM_"), 255)

    def trait_name(self, generated: str) -> str:
        """`CUSTOM_X` becomes a trait of the run (whose names start as its classes');
        any other name is left to be refused."""
        return self.class_name(generated)

    def external_id(self, generated: str) -> str:
        """A project or user id: Placement records them, and offers no way to remove them."""
        return _prefixed(self.provider_prefix, generated, 255)


def _prefixed(prefix: str, generated: str, max_length: int) -> str:
    """`prefix` + `generated`, cut to `max_length`, except that a value that was already
    too long (a deliberately invalid one) stays as long as it was, so stays invalid.
    A value that has the prefix already keeps it once."""
    if generated.startswith(prefix):
        return generated
    return (prefix + generated)[:max(max_length, len(generated))]


@dataclass(frozen=True)
class Fixtures:
    """Where generated allocations land: providers with generous inventory of classes of
    the run, so that a valid claim succeeds whatever amounts were drawn (they are fitted
    into 1..FIXTURE_MAX_UNIT) and however many claims came before. The classes are the
    run's own, so that no real workload is ever scheduled onto these providers."""

    providers: tuple[str, ...]  # uuids
    classes: tuple[str, ...]


FIXTURE_MAX_UNIT = 1000
FIXTURE_INVENTORY = {"total": 2147483647, "max_unit": FIXTURE_MAX_UNIT}


def create_fixtures(client: httpx.Client, names: RunNames) -> Fixtures:
    for name in names.fixture_classes:
        _expect(client.post("/resource_classes", json={"name": name}), 201)
    providers = []
    for name in names.fixture_providers:
        provider = str(uuid.uuid4())
        _expect(client.post("/resource_providers", json={"uuid": provider, "name": name}), 200, 201)
        _expect(client.put(f"/resource_providers/{provider}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {name: FIXTURE_INVENTORY for name in names.fixture_classes}}), 200)
        providers.append(provider)
    return Fixtures(providers=tuple(providers), classes=names.fixture_classes)


@dataclass
class RunData:
    """What a run keeps on the deployment: how it names things, the fixtures it made, and,
    once the run is over, what could not be removed."""

    names: RunNames
    fixtures: Fixtures | None = None
    leftovers: list[str] = field(default_factory=list)


@contextlib.contextmanager
def conformance_data(target: Target) -> Iterator[RunData]:
    """Make a new run's fixtures on the deployment, and remove everything named for the
    run on the way out, however the run ends (a failure, an error, Ctrl-C); what could
    not be removed is in `leftovers` afterwards."""
    data = RunData(RunNames(run_id=new_run_id()))
    with target.client() as client:
        try:
            data.fixtures = create_fixtures(client, data.names)
            yield data
        finally:
            try:
                data.leftovers = remove_run_data(client, data.names.run_id)
            except httpx.HTTPError as error:
                data.leftovers = [f"cannot list the run's data: {error}"]


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise UsageError(f"{response.request.method} {response.request.url} answered "
                         f"{response.status_code}: {response.text[:300]}")
    return response
