"""The rules that rewrite each generated request just before it is sent: two tables.

`SAFETY` holds on every request, valid or not, and is what makes fuzzing a shared
deployment safe:

- only the run's own providers and consumers are written to: a request that would change
  or delete another provider or consumer (schemathesis draws values it has seen in
  responses, such as a listing of every provider) names one of the run's instead, or a
  new uuid when the run has none yet;
- names of providers, custom classes, custom traits, projects and users become names of
  this run (`RunNames`), so that nothing the fuzzer creates escapes cleanup.
- a provider's aggregates are new uuids (generated ones), which no one else uses: only the
  provider in the path needs to be the run's.

`REACH` holds on valid requests only (invalid ones are left as drawn, to stay invalid),
and steers them to where they can succeed:

- an allocation names the fixtures' providers and classes, in amounts they grant;
- a consumer is a new one (generation null), unless it is one the run wrote before,
  which a sequence carries on to its next step;
- an inventory is of the fixtures' classes;
- a provider's traits are standard ones, which exist everywhere;
- in a sequence, a provider is created new (a new uuid and name), or the sequence
  would end at its first step with 409;
- the provider filters of a listing (a read, so under no safety rule) name the
  aggregates the run put its providers in, and standard traits, so that they list
  something;
- a request for allocation candidates (a read too) asks for one request group on the
  fixtures: the families of keys the spec names by one parameter (`resourcesN`) become
  keys of that group.

Without reach, generated allocations name random providers and classes and never get past
400. The rules depend on nothing but the request and what the run created, so that
Hypothesis, which replays sequences, sees the server answer the same way again. Every rule
leaves a value it already applied to as it is, because schemathesis sends values it has
seen again; and containers are copied before they are changed, because they may be the
spec's own examples. Every operation that writes has its safety rules: a test holds the
table to the spec's operations.
"""

from __future__ import annotations

import copy
import re
import uuid
import zlib
from typing import Any, Callable, Sequence

from schemathesis import Case, GenerationMode, Response
from schemathesis.core import NOT_SET
from schemathesis.generation.meta import TestPhase

from conformance import allocation_bodies
from conformance.checks import header
from conformance.fuzz_data import FIXTURE_MAX_UNIT, Fixtures, RunData, RunNames
from conformance.uuids import canonical, is_uuid_like
from placement_spec import facts

# Traits every deployment has (os-traits' oldest), for the traits of the run's providers.
STANDARD_TRAITS = ("HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "STORAGE_DISK_SSD", "COMPUTE_NODE")


class Steering:
    """What the rules need to know of the run: its names, its fixtures, and what its
    requests created (in canonical form, oldest first; the fixtures are not among them:
    requests may claim their inventory, not change them)."""

    def __init__(self, names: RunNames, fixtures: Fixtures):
        self.names = names
        self.fixtures = fixtures
        self.providers: list[str] = []
        self.consumers: list[str] = []
        self.aggregates: list[str] = []  # as the run wrote them
        self.serial = 0

    @classmethod
    def for_run(cls, data: RunData) -> Steering:
        """A new steering for one microversion's requests (sequences start afresh)."""
        assert data.fixtures is not None, "the fixtures are made on entering conformance_data"
        return cls(data.names, data.fixtures)

    def before_call(self, case: Case) -> None:
        label = case.operation.label
        case.path_parameters = dict(case.path_parameters or {})
        if isinstance(case.body, (dict, list)):
            case.body = copy.deepcopy(case.body)
        for rule in SAFETY.get(label, ()):
            rule(self, case)
        valid = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
        if valid and (isinstance(case.body, dict) or case.body is NOT_SET):
            for rule in REACH.get(label, ()):
                rule(self, case)

    def after_call(self, case: Case, response: Response) -> None:
        """Learn the uuid of each provider the run creates (from its body from 1.20, from
        its `Location` before), and the aggregates it puts them in."""
        if (case.operation.label == "PUT /resource_providers/{uuid}/aggregates"
                and response.status_code == 200):
            self.aggregates += [aggregate for aggregate in response.json()["aggregates"]
                                if aggregate not in self.aggregates]
        if case.operation.label != "POST /resource_providers":
            return
        if response.status_code == 200:
            self.providers.append(canonical(response.json()["uuid"]))
        elif response.status_code == 201 and (location := header(response, "Location")):
            self.providers.append(canonical(location.rsplit("/", 1)[-1]))

    def own(self, value: Any, owned: list[str]) -> Any:
        """`value`, unless it is a uuid the run did not create: then one the run did (or
        a new one). What is not uuid-like names nothing, and stays as drawn."""
        if not isinstance(value, str) or not is_uuid_like(value) or canonical(value) in owned:
            return value
        return _pick(owned, value) if owned else str(uuid.uuid4())

    def own_provider(self, value: Any) -> Any:
        return self.own(value, self.providers)

    def own_consumer(self, value: Any) -> Any:
        return self.own(value, self.consumers)

    def claimable_provider(self, value: Any) -> Any:
        """Allocations may name the run's providers and the fixtures."""
        return self.own(value, self.providers + list(self.fixtures.providers))

    def new_consumer(self, document: Any) -> str:
        """A consumer that does not exist yet, so its generation is null."""
        if isinstance(document, dict) and "consumer_generation" in document:
            document["consumer_generation"] = None
        consumer = str(uuid.uuid4())
        self.consumers.append(consumer)
        return consumer

    def fixture_provider(self, generated: str) -> str:
        return _pick(self.fixtures.providers, generated)

    def fixture_class(self, generated: str) -> str:
        return _pick(self.fixtures.classes, generated)

    def fixture_request(self, generated: str) -> str:
        """`resources` of a query: one unit of a fixture class."""
        name = generated.split(":")[0]
        return generated if name in self.fixtures.classes else f"{self.fixture_class(name)}:1"

    def fixture_amounts(self, resources: dict[str, float]) -> dict[str, int]:
        return {self.fixture_class(name): 1 + int(amount) % FIXTURE_MAX_UNIT
                for name, amount in resources.items()}


Rule = Callable[[Steering, Case], None]


# ------------------------------------------------ never write what the run did not create

def provider_in_path_is_the_run_s(run: Steering, case: Case) -> None:
    _rename(case.path_parameters, "uuid", run.own_provider)


def consumer_in_path_is_the_run_s(run: Steering, case: Case) -> None:
    _rename(case.path_parameters, "consumer_uuid", run.own_consumer)


def parent_is_the_run_s(run: Steering, case: Case) -> None:
    _rename(case.body, "parent_provider_uuid", run.own_provider)


def allocated_providers_are_the_run_s(run: Steering, case: Case) -> None:
    allocation_bodies.rewrite(case.body, run.claimable_provider)


def consumers_and_their_providers_are_the_run_s(run: Steering, case: Case) -> None:
    if isinstance(case.body, dict):
        case.body = _own_consumers(run, case.body)


def _own_consumers(run: Steering, by_consumer: dict) -> dict:
    """A map of consumers (of `POST /allocations`, or the reshaper's `allocations`) kept
    to the run's consumers, their allocations to the providers the run may claim."""
    owned = {run.own_consumer(consumer): document for consumer, document in by_consumer.items()}
    for document in owned.values():
        allocation_bodies.rewrite(document, run.claimable_provider)
    return owned


def provider_named_for_the_run(run: Steering, case: Case) -> None:
    _rename(case.body, "name", run.names.provider_name)


def class_named_for_the_run(run: Steering, case: Case) -> None:
    _rename(case.body, "name", run.names.class_name)


def class_in_path_named_for_the_run(run: Steering, case: Case) -> None:
    _rename(case.path_parameters, "name", run.names.class_name)


def trait_in_path_named_for_the_run(run: Steering, case: Case) -> None:
    _rename(case.path_parameters, "name", run.names.trait_name)


def owners_named_for_the_run(run: Steering, case: Case) -> None:
    """A project or user id: Placement records them, and offers no way to remove them."""
    _name_owners(run, case.body)


def owners_of_each_consumer_named_for_the_run(run: Steering, case: Case) -> None:
    if isinstance(case.body, dict):
        for document in case.body.values():
            _name_owners(run, document)


# The reshaper rewrites inventories as well as allocations: its providers are the run's
# own (the fixtures may be claimed, never reshaped), as are its consumers.

def reshaped_providers_are_the_run_s(run: Steering, case: Case) -> None:
    inventories = _part(case, "inventories")
    if inventories is not None:
        case.body["inventories"] = {run.own_provider(provider): document
                                    for provider, document in inventories.items()}


def reshaped_consumers_and_their_providers_are_the_run_s(run: Steering, case: Case) -> None:
    by_consumer = _part(case, "allocations")
    if by_consumer is not None:
        case.body["allocations"] = _own_consumers(run, by_consumer)
        for document in case.body["allocations"].values():
            _name_owners(run, document)


def _part(case: Case, key: str) -> dict | None:
    """The map under `key` of a reshaper body, if the body has one."""
    if isinstance(case.body, dict) and isinstance(case.body.get(key), dict):
        return case.body[key]
    return None


SAFETY: dict[str, tuple[Rule, ...]] = {
    "POST /resource_providers": (parent_is_the_run_s, provider_named_for_the_run),
    "PUT /resource_providers/{uuid}": (
        provider_in_path_is_the_run_s, parent_is_the_run_s, provider_named_for_the_run),
    "DELETE /resource_providers/{uuid}": (provider_in_path_is_the_run_s,),
    "PUT /resource_providers/{uuid}/inventories": (provider_in_path_is_the_run_s,),
    "POST /resource_providers/{uuid}/inventories": (provider_in_path_is_the_run_s,),
    "DELETE /resource_providers/{uuid}/inventories": (provider_in_path_is_the_run_s,),
    "PUT /resource_providers/{uuid}/inventories/{resource_class}": (
        provider_in_path_is_the_run_s,),
    "DELETE /resource_providers/{uuid}/inventories/{resource_class}": (
        provider_in_path_is_the_run_s,),
    "POST /resource_classes": (class_named_for_the_run,),
    "PUT /resource_classes/{name}": (class_in_path_named_for_the_run, class_named_for_the_run),
    "DELETE /resource_classes/{name}": (
        class_in_path_named_for_the_run, class_named_for_the_run),
    "PUT /resource_providers/{uuid}/aggregates": (provider_in_path_is_the_run_s,),
    "PUT /traits/{name}": (trait_in_path_named_for_the_run,),
    "DELETE /traits/{name}": (trait_in_path_named_for_the_run,),
    "PUT /resource_providers/{uuid}/traits": (provider_in_path_is_the_run_s,),
    "DELETE /resource_providers/{uuid}/traits": (provider_in_path_is_the_run_s,),
    "PUT /allocations/{consumer_uuid}": (
        consumer_in_path_is_the_run_s, allocated_providers_are_the_run_s,
        owners_named_for_the_run),
    "POST /allocations": (
        consumers_and_their_providers_are_the_run_s, owners_of_each_consumer_named_for_the_run),
    "DELETE /allocations/{consumer_uuid}": (consumer_in_path_is_the_run_s,),
    "POST /reshaper": (
        reshaped_providers_are_the_run_s, reshaped_consumers_and_their_providers_are_the_run_s),
}


# ----------------------------------------------------- steer valid requests to the fixtures

def new_provider_in_a_sequence(run: Steering, case: Case) -> None:
    if case.meta is None or case.meta.phase.name != TestPhase.STATEFUL:
        return
    run.serial += 1
    case.body["uuid"] = str(uuid.uuid4())
    _rename(case.body, "name", lambda name: run.names.provider_name(name, run.serial))


def inventories_of_fixture_classes(run: Steering, case: Case) -> None:
    _fixture_classes(run, case.body)


def _fixture_classes(run: Steering, document: Any) -> None:
    """The `inventories` of `document` (a provider's, whole) renamed to fixture classes."""
    if isinstance(document, dict) and isinstance(document.get("inventories"), dict):
        document["inventories"] = {run.fixture_class(name): record
                                   for name, record in document["inventories"].items()}


def inventory_of_a_fixture_class(run: Steering, case: Case) -> None:
    _rename(case.body, "resource_class", run.fixture_class)


def standard_traits(run: Steering, case: Case) -> None:
    if isinstance(case.body.get("traits"), list):
        case.body["traits"] = [
            _pick(STANDARD_TRAITS, name)
            if isinstance(name, str) and name not in STANDARD_TRAITS else name
            for name in case.body["traits"]]


def consumer_is_new_or_the_run_s(run: Steering, case: Case) -> None:
    consumer = case.path_parameters["consumer_uuid"]
    if not is_uuid_like(consumer) or canonical(consumer) not in run.consumers:
        case.path_parameters["consumer_uuid"] = run.new_consumer(case.body)


def claims_on_the_fixtures(run: Steering, case: Case) -> None:
    """Point every allocation at the fixtures, in amounts they grant."""
    allocation_bodies.rewrite(case.body, run.fixture_provider, run.fixture_amounts)


def new_consumers_claim_the_fixtures(run: Steering, case: Case) -> None:
    case.body = _new_consumers_on_the_fixtures(run, case.body)


def _new_consumers_on_the_fixtures(run: Steering, by_consumer: dict) -> dict:
    """A map of consumers given new consumers, whose allocations the fixtures grant."""
    renamed = {run.new_consumer(document): document for document in by_consumer.values()}
    for document in renamed.values():
        allocation_bodies.rewrite(document, run.fixture_provider, run.fixture_amounts)
    return renamed


def reshaped_inventories_of_fixture_classes(run: Steering, case: Case) -> None:
    """Classes the deployment has; the generations stay as drawn, so most reach 409."""
    for document in (_part(case, "inventories") or {}).values():
        _fixture_classes(run, document)


def reshaped_consumers_are_new_and_claim_the_fixtures(run: Steering, case: Case) -> None:
    by_consumer = _part(case, "allocations")
    if by_consumer is not None:
        case.body["allocations"] = _new_consumers_on_the_fixtures(run, by_consumer)


def filters_name_the_run_s(run: Steering, case: Case) -> None:
    """`member_of` names an aggregate of the run's (a new uuid before it has one) and
    `required` a standard trait: forms that every microversion with them takes."""
    query = dict(case.query or {})
    _filters_of_the_run(run, query)
    case.query = query


def _filters_of_the_run(run: Steering, query: dict, suffix: str = "") -> None:
    """The `member_of{suffix}` and `required{suffix}` of `query`, steered as above."""
    aggregate = query.get(f"member_of{suffix}")
    if isinstance(aggregate, str) and aggregate not in run.aggregates:
        query[f"member_of{suffix}"] = (_pick(run.aggregates, aggregate) if run.aggregates
                                       else str(uuid.uuid5(uuid.NAMESPACE_URL, aggregate)))
    _rename(query, f"required{suffix}", _standard_trait)
    _rename(query, "root_required", _standard_trait)


def _standard_trait(generated: str) -> str:
    return generated if generated in STANDARD_TRAITS else _pick(STANDARD_TRAITS, generated)


# The request group a valid request for candidates asks in: the unsuffixed one, or a
# granular one (a suffix every microversion with granular groups takes).
GROUP_SUFFIXES = ("", "1")


def candidates_of_the_fixtures(run: Steering, case: Case) -> None:
    """One request group, on the fixtures: each family of keys the spec names as a
    parameter (`resourcesN`) becomes a key of the group; its resources are of the
    fixtures' classes, its `in_tree` a fixture; its traits and aggregates, and
    `root_required`, are steered as a provider listing's; `same_subtree` names the
    group, or goes when the group has no suffix."""
    query = dict(case.query or {})
    families = [(parameter.name, parameter.definition[facts.KEY_PATTERN]["pattern"])
                for parameter in case.operation.query
                if facts.KEY_PATTERN in parameter.definition]
    # Before the families, the one group is the unsuffixed one, by its named keys.
    suffix = _pick(GROUP_SUFFIXES, repr(sorted(query))) if families else ""
    for name, pattern in families:
        key = name.removesuffix("N") + suffix
        if name in query and re.search(pattern, key):
            query[key] = query.pop(name)
    _rename(query, f"resources{suffix}", run.fixture_request)
    _rename(query, f"in_tree{suffix}", lambda generated: generated
            if generated in run.fixtures.providers else run.fixture_provider(generated))
    _filters_of_the_run(run, query, suffix)
    if "same_subtree" in query:
        if suffix:
            query["same_subtree"] = suffix
        else:
            del query["same_subtree"]
    case.query = query


REACH: dict[str, tuple[Rule, ...]] = {
    "GET /resource_providers": (filters_name_the_run_s,),
    "GET /allocation_candidates": (candidates_of_the_fixtures,),
    "POST /resource_providers": (new_provider_in_a_sequence,),
    "PUT /resource_providers/{uuid}/inventories": (inventories_of_fixture_classes,),
    "POST /resource_providers/{uuid}/inventories": (inventory_of_a_fixture_class,),
    "PUT /resource_providers/{uuid}/traits": (standard_traits,),
    "PUT /allocations/{consumer_uuid}": (consumer_is_new_or_the_run_s, claims_on_the_fixtures),
    "POST /allocations": (new_consumers_claim_the_fixtures,),
    "POST /reshaper": (
        reshaped_inventories_of_fixture_classes, reshaped_consumers_are_new_and_claim_the_fixtures),
}


def _rename(container: Any, key: str, rename: Callable[[Any], Any]) -> None:
    if isinstance(container, dict) and isinstance(container.get(key), str):
        container[key] = rename(container[key])


def _name_owners(run: Steering, document: Any) -> None:
    for key in ("project_id", "user_id"):
        _rename(document, key, run.names.external_id)


def _pick(choices: Sequence[str], generated: str) -> str:
    """One of `choices`, the same for the same generated text (reproducible runs)."""
    return choices[zlib.crc32(generated.encode("utf-8", "surrogatepass")) % len(choices)]
