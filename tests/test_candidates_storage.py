"""The allocation candidates that `storage.candidates.find` answers, rule by rule, on data
written through the storage functions into a scratch SQLite database.

Each test builds the smallest world where its rule decides the answer, with a distractor
that a wrong rule would count (a provider too full, a tree without the trait, a second
tree behind the same sharing provider...). Where upstream's behaviour is odd, the test
says what the live Placement 16.0.0 answered.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field

import pytest

from reference_impl.errors import BadRequest
from reference_impl.storage import aggregates, allocations, inventories, providers, traits
from reference_impl.storage.candidates import CandidateQuery, RequestGroup, find
from reference_impl.storage.db import connect
from reference_impl.storage.providers import Membership

SHARES = "MISC_SHARES_VIA_AGGREGATE"


@dataclass
class World:
    """A database and the providers made in it, by name."""

    database: object
    uuids: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    _consumers: itertools.count = field(default_factory=itertools.count)

    def provider(self, name: str, parent: str | None = None, *, traits_: tuple[str, ...] = (),
                 aggregates_: tuple[str, ...] = (), **classes) -> str:
        """A provider with inventories (`VCPU=8` or `VCPU=dict(total=8, ...)`), traits and
        aggregates (named; each name stands for one aggregate uuid)."""
        rp_uuid = str(uuid.uuid4())

        def work(connection):
            provider = providers.create(
                connection, uuid=rp_uuid, name=name,
                parent_provider_uuid=self.uuids[parent] if parent else None)
            if classes:
                wanted = {rc: inventories.Inventory.from_request(
                    spec if isinstance(spec, dict) else {"total": spec})
                    for rc, spec in classes.items()}
                inventories.replace_all(connection, provider, None, wanted, None)
            for trait in traits_:
                if trait.startswith("CUSTOM_"):
                    traits.ensure(connection, trait)
            if traits_:
                traits.replace(connection, provider, None, list(traits_))
            if aggregates_:
                aggregates.replace(connection, provider,
                                   [self.aggregate(name) for name in aggregates_], None)

        self.database.write(work)
        self.uuids[name] = rp_uuid
        self.names[rp_uuid] = name
        return rp_uuid

    def aggregate(self, name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))

    def allocate(self, **taken: dict[str, int]) -> None:
        """One new consumer holding `taken` ({provider name: {class: amount}})."""
        request = allocations.ConsumerRequest(
            uuid=str(uuid.UUID(int=next(self._consumers) + 1)),
            allocations={self.uuids[name]: amounts for name, amounts in taken.items()})
        self.database.write(lambda connection: allocations.replace(
            connection, [request], keep_empty=False))

    def find(self, *groups: RequestGroup, **options):
        with self.database.read() as connection:
            return find(connection, CandidateQuery(groups=groups, **options))

    def candidates(self, *groups: RequestGroup, **options) -> set:
        """The candidates as a set of frozen {provider name: {class: amount}}, with the
        mappings."""
        found = self.find(*groups, **options)
        return {self._named(request) for request in found.allocation_requests}

    def _named(self, request):
        taken = frozenset(
            (self.names[rp], rc, amount)
            for rp, resources in request.allocations.items() for rc, amount in resources.items())
        mappings = frozenset((suffix, frozenset(self.names[rp] for rp in rps))
                             for suffix, rps in request.mappings.items())
        return taken, mappings

    def summarised(self, *groups: RequestGroup, **options) -> set[str]:
        found = self.find(*groups, **options)
        return {self.names[rp] for rp in found.provider_summaries}


def group(suffix: str = "", *, required=(), forbidden=(), member_of=(), not_member_of=(),
          in_tree: str | None = None, **resources) -> RequestGroup:
    return RequestGroup(suffix=suffix, resources=resources, in_tree=in_tree,
                        membership=Membership(
                            traits=tuple(frozenset(any_of.split("|")) for any_of in required),
                            forbidden_traits=frozenset(forbidden),
                            aggregates=tuple(frozenset(any_of) for any_of in member_of),
                            forbidden_aggregates=frozenset(not_member_of)))


def taken(*pieces, **mappings) -> tuple:
    """A candidate as `World.candidates` shows it: pieces are (provider, class, amount);
    mappings are suffix=providers (`_` for the unsuffixed group)."""
    return (frozenset(pieces),
            frozenset((suffix.lstrip("_") if suffix == "_" else suffix, frozenset(rps))
                      for suffix, rps in mappings.items()))


@pytest.fixture
def world(tmp_path) -> World:
    return World(connect(f"sqlite:///{tmp_path / 'candidates.db'}"))


def test_a_flat_provider_serves_all_it_can_take(world):
    world.provider("cn1", VCPU=4, MEMORY_MB=1024)
    world.provider("small", VCPU=1, MEMORY_MB=1024)
    world.provider("no_memory", VCPU=8)
    assert world.candidates(group(VCPU=2, MEMORY_MB=512)) == {
        taken(("cn1", "VCPU", 2), ("cn1", "MEMORY_MB", 512), _={"cn1"})}


def test_capacity_counts_reserved_ratio_and_usage(world):
    world.provider("ratio", VCPU={"total": 4, "allocation_ratio": 2.0})  # 8 in all
    world.provider("reserved", VCPU={"total": 8, "reserved": 3})  # 5 left
    world.provider("used", VCPU=8)
    world.allocate(used={"VCPU": 3})  # 5 left
    world.provider("truncated", VCPU={"total": 11, "allocation_ratio": 0.5})  # 5.5
    assert {c[0] for c in world.candidates(group(VCPU=6))} == {
        frozenset({("ratio", "VCPU", 6)})}
    assert {next(iter(c[0]))[0] for c in world.candidates(group(VCPU=5))} == {
        "ratio", "reserved", "used", "truncated"}


def test_min_max_unit_and_step_size(world):
    world.provider("min", VCPU={"total": 16, "min_unit": 4})
    world.provider("max", VCPU={"total": 16, "max_unit": 2})
    world.provider("step", VCPU={"total": 16, "step_size": 3})
    found = lambda amount: {next(iter(c[0]))[0] for c in world.candidates(group(VCPU=amount))}
    assert found(2) == {"max"}
    assert found(3) == {"step"}
    assert found(4) == {"min"}
    assert found(6) == {"min", "step"}


def test_the_unsuffixed_group_spreads_over_one_tree(world):
    world.provider("cn", DISK_GB=100)
    world.provider("numa0", "cn", VCPU=4)
    world.provider("numa1", "cn", VCPU=1)
    world.provider("other", VCPU=8)  # a tree without disk: serves no part of it
    assert world.candidates(group(VCPU=2, DISK_GB=10)) == {
        taken(("numa0", "VCPU", 2), ("cn", "DISK_GB", 10), _={"numa0", "cn"})}
    assert world.summarised(group(VCPU=2, DISK_GB=10)) == {"cn", "numa0", "numa1"}


def test_a_granular_group_takes_one_provider(world):
    world.provider("cn")
    world.provider("numa0", "cn", VCPU=4)
    world.provider("numa1", "cn", MEMORY_MB=1024)
    world.provider("both", "cn", VCPU=2, MEMORY_MB=512)
    assert world.candidates(group("1", VCPU=1, MEMORY_MB=256)) == {
        taken(("both", "VCPU", 1), ("both", "MEMORY_MB", 256), **{"1": {"both"}})}


def test_sharing_providers_serve_the_trees_of_their_aggregates(world):
    world.provider("cn1", aggregates_=("a",), VCPU=4)
    world.provider("cn2", aggregates_=("b",), VCPU=4)  # another aggregate
    world.provider("nfs", traits_=(SHARES,), aggregates_=("a",), DISK_GB=100)
    world.provider("unshared", aggregates_=("b",), DISK_GB=100)  # not sharing
    assert world.candidates(group(VCPU=1, DISK_GB=10)) == {
        taken(("cn1", "VCPU", 1), ("nfs", "DISK_GB", 10), _={"cn1", "nfs"})}
    assert world.summarised(group(VCPU=1, DISK_GB=10)) == {"cn1", "nfs"}


def test_a_granular_group_on_a_sharing_provider_goes_with_each_anchor(world):
    for name in ("cn1", "cn2"):
        world.provider(name, aggregates_=("a",))
        world.provider(f"{name}_numa", name, VCPU=4)
    world.provider("nfs", traits_=(SHARES,), aggregates_=("a",), DISK_GB=100)
    assert world.candidates(group("1", VCPU=1), group("2", DISK_GB=10),
                            isolate=False) == {
        taken((f"{cn}_numa", "VCPU", 1), ("nfs", "DISK_GB", 10),
              **{"1": {f"{cn}_numa"}, "2": {"nfs"}})
        for cn in ("cn1", "cn2")}


def test_an_unsuffixed_group_on_sharing_providers_alone_keeps_one_anchor(world):
    """Upstream keeps an option of the unsuffixed group once when it is the same around
    several anchors: 16.0.0 answered `resources=DISK_GB:10&resources1=VCPU:1` with the
    candidates of one compute node only."""
    for name in ("cn1", "cn2"):
        world.provider(name, aggregates_=("a",))
        world.provider(f"{name}_numa", name, VCPU=4)
    world.provider("nfs", traits_=(SHARES,), aggregates_=("a",), DISK_GB=100)
    found = world.candidates(group(DISK_GB=10), group("1", VCPU=1), isolate=False)
    assert found == {taken(("cn1_numa", "VCPU", 1), ("nfs", "DISK_GB", 10),
                           _={"nfs"}, **{"1": {"cn1_numa"}})}


def test_isolate_puts_granular_groups_on_distinct_providers(world):
    world.provider("cn")
    world.provider("pf1", "cn", SRIOV_NET_VF=4)
    world.provider("pf2", "cn", SRIOV_NET_VF=4)
    groups = (group("1", SRIOV_NET_VF=1), group("2", SRIOV_NET_VF=1))
    isolated = world.candidates(*groups, isolate=True)
    assert {frozenset(dict(c[1]).values()) for c in isolated} == {
        frozenset({frozenset({"pf1"}), frozenset({"pf2"})})}
    assert len(isolated) == 2
    # Without isolation, both groups on one provider take the sum of it.
    together = world.candidates(*groups, isolate=False)
    assert taken(("pf1", "SRIOV_NET_VF", 2), **{"1": {"pf1"}, "2": {"pf1"}}) in together
    assert len(together) == 4


def test_the_sum_of_groups_on_one_provider_must_fit(world):
    world.provider("cn")
    world.provider("pf1", "cn", SRIOV_NET_VF=3)
    world.provider("pf2", "cn", SRIOV_NET_VF={"total": 8, "max_unit": 2})
    world.allocate(pf1={"SRIOV_NET_VF": 1})
    found = world.candidates(group("1", SRIOV_NET_VF=2), group("2", SRIOV_NET_VF=2),
                             isolate=False)
    # pf1 has 2 left: one group at a time; pf2 takes 2 at a time but not 4 at once.
    assert taken(("pf1", "SRIOV_NET_VF", 4), **{"1": {"pf1"}, "2": {"pf1"}}) not in found
    assert taken(("pf2", "SRIOV_NET_VF", 4), **{"1": {"pf2"}, "2": {"pf2"}}) not in found
    assert len(found) == 2


def test_the_unsuffixed_group_and_a_granular_one_sum_on_one_provider(world):
    world.provider("cn", VCPU={"total": 3})
    found = world.candidates(group(VCPU=2), group("1", VCPU=1), isolate=False)
    assert found == {taken(("cn", "VCPU", 3), _={"cn"}, **{"1": {"cn"}})}
    assert world.candidates(group(VCPU=2), group("1", VCPU=2), isolate=False) == set()


def test_required_traits_of_a_granular_group_are_the_providers_own(world):
    world.provider("cn", traits_=("CUSTOM_FAST",))
    world.provider("numa0", "cn", VCPU=4)
    world.provider("numa1", "cn", traits_=("CUSTOM_FAST",), VCPU=4)
    found = world.candidates(group("1", required=["CUSTOM_FAST"], VCPU=1))
    assert {c[0] for c in found} == {frozenset({("numa1", "VCPU", 1)})}


def test_required_traits_of_the_unsuffixed_group_are_held_by_the_providers_it_uses(world):
    """A trait of the root does not count when the root serves none of the group: 16.0.0
    answers no candidate for the first request below."""
    world.provider("cn", traits_=("CUSTOM_FAST",), DISK_GB=100)
    world.provider("numa0", "cn", VCPU=4)
    world.provider("numa1", "cn", traits_=("CUSTOM_GOLD",), VCPU=4)
    assert world.candidates(group(required=["CUSTOM_FAST"], VCPU=1)) == set()
    assert world.candidates(group(required=["CUSTOM_FAST"], VCPU=1, DISK_GB=1)) == {
        taken(("numa0", "VCPU", 1), ("cn", "DISK_GB", 1), _={"numa0", "cn"}),
        taken(("numa1", "VCPU", 1), ("cn", "DISK_GB", 1), _={"numa1", "cn"})}
    # any-of: one of the set is enough.
    found = world.candidates(group(required=["CUSTOM_GOLD|CUSTOM_FAST"], VCPU=1))
    assert {c[0] for c in found} == {frozenset({("numa1", "VCPU", 1)})}


def test_forbidden_traits_exclude_the_providers_that_hold_them(world):
    world.provider("cn", DISK_GB=100)
    world.provider("numa0", "cn", traits_=("CUSTOM_SLOW",), VCPU=4)
    world.provider("numa1", "cn", VCPU=4)
    world.provider("flat", traits_=("CUSTOM_SLOW",), VCPU=4, DISK_GB=100)
    assert world.candidates(group(forbidden=["CUSTOM_SLOW"], VCPU=1, DISK_GB=1)) == {
        taken(("numa1", "VCPU", 1), ("cn", "DISK_GB", 1), _={"numa1", "cn"})}
    assert {c[0] for c in world.candidates(group("1", forbidden=["CUSTOM_SLOW"], VCPU=1))} == {
        frozenset({("numa1", "VCPU", 1)})}


def test_member_of_is_met_by_the_provider_or_its_root(world):
    world.provider("cn", aggregates_=("a",))
    world.provider("numa", "cn", VCPU=4)
    world.provider("outside", VCPU=4)
    a = world.aggregate("a")
    assert {c[0] for c in world.candidates(group(member_of=[{a}], VCPU=1))} == {
        frozenset({("numa", "VCPU", 1)})}
    # A granular group wants the provider itself in the aggregate.
    assert world.candidates(group("1", member_of=[{a}], VCPU=1)) == set()
    assert {c[0] for c in world.candidates(group(not_member_of=[a], VCPU=1))} == {
        frozenset({("outside", "VCPU", 1)})}


def test_in_tree_keeps_the_group_in_one_tree(world):
    world.provider("cn1", aggregates_=("a",))
    world.provider("numa1", "cn1", VCPU=4)
    world.provider("cn2", VCPU=4)
    world.provider("nfs", traits_=(SHARES,), aggregates_=("a",), DISK_GB=100)
    found = world.candidates(group(VCPU=1, in_tree=world.uuids["numa1"]))
    assert {c[0] for c in found} == {frozenset({("numa1", "VCPU", 1)})}
    # ... and out of the sharing providers of other trees.
    assert world.candidates(group(VCPU=1, DISK_GB=1, in_tree=world.uuids["cn1"])) == set()
    assert world.candidates(group(VCPU=1, in_tree=str(uuid.uuid4()))) == set()


def test_root_required_looks_at_the_root_of_the_anchor(world):
    world.provider("cn1", traits_=("CUSTOM_GOOD",))
    world.provider("numa1", "cn1", VCPU=4)
    world.provider("cn2", traits_=("CUSTOM_BAD",))
    world.provider("numa2", "cn2", traits_=("CUSTOM_GOOD",), VCPU=4)
    only_good = Membership(traits=(frozenset({"CUSTOM_GOOD"}),))
    assert {c[0] for c in world.candidates(group("1", VCPU=1), root_membership=only_good)} == {
        frozenset({("numa1", "VCPU", 1)})}
    not_bad = Membership(forbidden_traits=frozenset({"CUSTOM_BAD"}))
    assert {c[0] for c in world.candidates(group(VCPU=1), root_membership=not_bad)} == {
        frozenset({("numa1", "VCPU", 1)})}


def test_same_subtree_wants_one_provider_above_the_others(world):
    world.provider("cn")
    world.provider("numa0", "cn", traits_=("CUSTOM_NIC",), VCPU=4)
    world.provider("pf0", "numa0", SRIOV_NET_VF=4)
    world.provider("numa1", "cn", VCPU=4)
    world.provider("pf1", "cn", SRIOV_NET_VF=4)  # under the root, not under numa1
    groups = (group("_CPU", VCPU=1), group("_NET", SRIOV_NET_VF=1))
    found = world.candidates(*groups, isolate=False, same_subtree=(frozenset({"_CPU", "_NET"}),))
    assert {frozenset(rp for rp, _, _ in c[0]) for c in found} == {
        frozenset({"numa0", "pf0"})}
    # A resourceless group names the provider above the other's.
    found = world.candidates(group("_NUMA", required=["CUSTOM_NIC"]),
                             group("_NET", SRIOV_NET_VF=1), isolate=False,
                             same_subtree=(frozenset({"_NUMA", "_NET"}),))
    assert found == {taken(("pf0", "SRIOV_NET_VF", 1), _NUMA={"numa0"}, _NET={"pf0"})}


def test_before_nested_providers_a_candidate_takes_one_provider_per_tree(world):
    world.provider("cn", DISK_GB=100)
    world.provider("numa", "cn", VCPU=4)
    world.provider("flat", VCPU=4, DISK_GB=100)
    query = (group(VCPU=1, DISK_GB=1),)
    assert len(world.candidates(*query)) == 2
    assert world.candidates(*query, nested_aware=False) == {
        taken(("flat", "VCPU", 1), ("flat", "DISK_GB", 1), _={"flat"})}
    assert world.summarised(*query, nested_aware=False) == {"flat"}


def test_summaries_hold_every_inventory_and_trait_of_each_tree_used(world):
    world.provider("cn", traits_=("CUSTOM_ROOT",), DISK_GB={"total": 10, "reserved": 2})
    world.provider("numa", "cn", VCPU={"total": 4, "allocation_ratio": 1.5}, MEMORY_MB=64)
    world.provider("empty", "cn")
    world.allocate(numa={"VCPU": 2})
    found = world.find(group("1", VCPU=1))
    summaries = {world.names[rp]: summary for rp, summary in found.provider_summaries.items()}
    assert set(summaries) == {"cn", "numa", "empty"}
    numa = summaries["numa"]
    assert {rc: (r.capacity, r.used) for rc, r in numa.resources.items()} == {
        "VCPU": (6, 2), "MEMORY_MB": (64, 0)}
    assert numa.parent_provider_uuid == world.uuids["cn"]
    assert numa.root_provider_uuid == world.uuids["cn"]
    assert summaries["cn"].traits == ["CUSTOM_ROOT"]
    assert summaries["cn"].resources["DISK_GB"].capacity == 8
    assert summaries["empty"].resources == {}


def test_limit_keeps_that_many_and_the_summaries_of_their_trees(world):
    for index in range(3):
        world.provider(f"cn{index}", VCPU=4)
    found = world.find(group(VCPU=1), limit=2)
    assert len(found.allocation_requests) == 2
    used = {rp for request in found.allocation_requests for rp in request.allocations}
    assert set(found.provider_summaries) == used


def test_unknown_names_are_upstreams_400_in_its_order(world):
    world.provider("cn", VCPU=4)
    with pytest.raises(BadRequest, match="No such resource class CUSTOM_NONE"):
        world.find(group(required=["CUSTOM_UNKNOWN"], CUSTOM_NONE=1))
    with pytest.raises(BadRequest, match=r"^No such trait\(s\): CUSTOM_UNKNOWN\.$"):
        world.find(group(required=["CUSTOM_UNKNOWN"], VCPU=1))
    # A member_of no provider is in answers nothing before the traits are looked up,
    with pytest.raises(BadRequest):
        world.find(group(forbidden=["CUSTOM_UNKNOWN"], VCPU=1))
    assert world.candidates(group(member_of=[{str(uuid.uuid4())}],
                                  required=["CUSTOM_UNKNOWN"], VCPU=1)) == set()
    # and a group that nothing serves stops the look-up of the next.
    assert world.candidates(group("1", VCPU=100), group("2", CUSTOM_NONE=1),
                            isolate=True) == set()
    with pytest.raises(BadRequest, match="CUSTOM_NONE"):
        world.find(group("1", VCPU=1), group("2", CUSTOM_NONE=1), isolate=True)


def test_a_resourceless_group_ignores_in_tree(world):
    """16.0.0 narrows a group to `in_tree` only where it looks for resources: a
    resourceless group with `in_tree` of another tree still names its own provider."""
    world.provider("cn", traits_=("CUSTOM_MARK",))
    world.provider("numa", "cn", VCPU=4)
    world.provider("elsewhere", traits_=("CUSTOM_MARK",))
    found = world.candidates(
        group("_A", VCPU=1), group("_B", required=["CUSTOM_MARK"],
                                   in_tree=world.uuids["elsewhere"]),
        isolate=False, same_subtree=(frozenset({"_A", "_B"}),))
    assert found == {taken(("numa", "VCPU", 1), _A={"numa"}, _B={"cn"})}
