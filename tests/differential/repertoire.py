"""The requests a walk can make: every operation of the spec, valid and invalid.

Each entry of `REPERTOIRE` is a plan: a generator function that reads the model and
yields one request, or a few in a row when a check needs its follow-up (a re-parenting and
then the reads that would show stale roots). Plans yield lazily, so each request is
written from the model as it stands after the answers before it. Each request carries its
`learn` function: how it changes the model when upstream accepts it.

Microversions are chosen per request: mostly within the operation's range, sometimes
anywhere (so that an operation meets the versions where it does not exist yet), sometimes
no header (1.0) or `latest` (1.39).
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable, Iterator, Sequence

from placement_spec import MAXIMUM, Microversion
from tests.differential.messages import Answer, Request
from tests.differential.world import SIDES, UPSTREAM, Consumer, Provider, World, named

INCOMPLETE = "00000000-0000-0000-0000-000000000000"  # upstream's project/user before 1.8
MAX_INT = 2147483647
CONSUMER_TYPES = ("INSTANCE", "MIGRATION", "OTHER_1")

Plan = Iterator[Request]


# --------------------------------------------------------------------------------------
# Microversions
# --------------------------------------------------------------------------------------


def pick_version(rng: random.Random, since: str = "1.0",
                 until: str | None = None) -> tuple[str | None, Microversion]:
    """The `OpenStack-API-Version` value to send, and the microversion it means."""
    low = Microversion.parse(since)
    high = Microversion.parse(until) if until else MAXIMUM
    roll = rng.random()
    if roll < 0.05:
        return None, Microversion(1, 0)
    if roll < 0.10:
        return "placement latest", MAXIMUM
    if roll < 0.18:
        low, high = Microversion(1, 0), MAXIMUM
    version = Microversion(1, rng.randint(low.minor, high.minor))
    return f"placement {version}", version


def at_least(version: Microversion, text: str) -> bool:
    return version >= Microversion.parse(text)


def chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


# --------------------------------------------------------------------------------------
# Resource providers
# --------------------------------------------------------------------------------------


def create_provider(world: World) -> Plan:
    """POST a provider: new (with or without a uuid, under a parent), duplicate, or invalid."""
    rng = world.rng
    header, version = pick_version(rng)
    nested = at_least(version, "1.14")
    existing = world.some_provider()
    kind = rng.choices(
        ("new", "generated", "child", "same name", "same uuid", "same uuid, unknown parent",
         "unknown parent", "invalid"),
        (30, 15, 20, 4, 4, 4, 4, 10))[0]
    if existing is None and kind.startswith("same") or kind == "child" and existing is None:
        kind = "new"
    label = world.new_label()
    body: dict[str, Any] = {"name": f"provider-{label}"}
    seeded = world.new_uuid()
    if kind != "generated":
        body["uuid"] = seeded
    if kind == "child" and existing:
        body["parent_provider_uuid"] = named(existing.label)
    elif kind in ("same name", "same uuid", "same uuid, unknown parent") and existing:
        if kind != "same uuid":
            body["name"] = existing.name
        if kind != "same name":
            body["uuid"] = named(existing.label)
        if kind == "same uuid, unknown parent":
            body["parent_provider_uuid"] = world.new_uuid()
    elif kind == "unknown parent":
        body["parent_provider_uuid"] = world.new_uuid()
    elif kind == "invalid":
        body = _spoil(rng, body, {"name": ["", "x" * 201, 42, None],
                                  "uuid": ["not-a-uuid", 12, seeded.replace("-", "")],
                                  "parent_provider_uuid": ["nope", 3]})
    parent = existing.label if kind == "child" and existing and nested else None

    def learn(world: World, answers: dict[str, Answer]) -> None:
        # Whatever the kind: a spoiled body may still be valid (one without its uuid, say).
        if answers[UPSTREAM].status not in (200, 201):
            return
        uuids = {side: uuid for side in SIDES
                 if (uuid := _created_uuid(answers[side])) is not None}
        world.add_provider(Provider(label, body["name"], uuids, generated="uuid" not in body,
                                    parent=parent))

    yield Request(f"create a provider ({kind})", "POST", "/resource_providers", header,
                  body, learn=learn)


def _created_uuid(answer: Answer) -> str | None:
    """The uuid a server gave a new provider: in the body (1.20+) or the Location."""
    if answer.status not in (200, 201):
        return None
    body = answer.json()
    if isinstance(body, dict) and isinstance(body.get("uuid"), str):
        return body["uuid"]
    location = answer.headers.get("location", "")
    return location.rstrip("/").rsplit("/", 1)[-1] or None


def update_provider(world: World) -> Plan:
    """Rename, re-parent, un-parent; then read what re-parenting should have changed."""
    rng = world.rng
    provider = world.some_provider()
    if provider is None:
        return
    header, version = pick_version(rng, "1.14" if chance(rng, 0.7) else "1.0")
    others = [p for p in world.providers.values() if p.label != provider.label]
    kind = rng.choices(("rename", "same name as another", "set parent", "un-parent",
                        "parent is a descendant", "unknown parent", "unknown provider",
                        "invalid"), (15, 5, 35, 15, 5, 5, 5, 10))[0]
    body: dict[str, Any] = {"name": f"{provider.name}-renamed{rng.randrange(10)}"}
    target = named(provider.label)
    new_parent: str | None = provider.parent
    if kind == "same name as another" and others:
        body["name"] = rng.choice(others).name
    elif kind == "set parent" and others:
        new_parent = rng.choice(others).label
        body = {"name": provider.name, "parent_provider_uuid": named(new_parent)}
    elif kind == "un-parent":
        new_parent = None
        body = {"name": provider.name, "parent_provider_uuid": None}
    elif kind == "parent is a descendant":
        below = world.descendants(provider.label) or [provider]
        body["parent_provider_uuid"] = named(rng.choice(below).label)
    elif kind == "unknown parent":
        body["parent_provider_uuid"] = world.new_uuid()
    elif kind == "unknown provider":
        target = world.new_uuid()
    elif kind == "invalid":
        body = _spoil(rng, body, {"name": ["", "y" * 201, 7, None],
                                  "parent_provider_uuid": ["nope", 5]})

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if (answers[UPSTREAM].status == 200 and provider.label in world.providers
                and isinstance(body, dict)):
            provider.name = body.get("name", provider.name)
            if "parent_provider_uuid" in body and kind in ("set parent", "un-parent"):
                provider.parent = new_parent
            world.learn_generation(provider.label, answers[UPSTREAM].json())

    yield Request(f"update a provider ({kind})", "PUT", f"/resource_providers/{target}",
                  header, body, learn=learn)
    if kind in ("set parent", "un-parent"):
        # What a re-parenting changes: the tree it left, the tree it joined, every descendant.
        header, _ = pick_version(rng, "1.14")
        for label in {provider.label, *(p.label for p in world.descendants(provider.label))}:
            yield _get("read a re-parented provider or descendant",
                       f"/resource_providers/{named(label)}", header, label)
        roots = {provider.label, *(p.label for p in others if p.parent is None)}
        for label in sorted(roots)[:3]:
            yield _get("list a tree after re-parenting",
                       f"/resource_providers?in_tree={named(label)}", header)


def delete_provider(world: World) -> Plan:
    """DELETE a provider (in use or a parent: 409), or one that does not exist."""
    rng = world.rng
    provider = world.some_provider()
    header, _ = pick_version(rng)
    target = named(provider.label) if provider and chance(rng, 0.85) else world.new_uuid()

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if answers[UPSTREAM].status == 204 and provider and provider.label in world.providers:
            world.remove_provider(provider.label)

    yield Request("delete a provider", "DELETE", f"/resource_providers/{target}", header,
                  learn=learn)


def read_providers(world: World) -> Plan:
    """GET one provider, or the list with filters: name, uuid, in_tree (1.14+), resources."""
    rng = world.rng
    provider = world.some_provider()
    header, version = pick_version(rng)
    if provider and chance(rng, 0.35):
        yield _get("read a provider", f"/resource_providers/{named(provider.label)}",
                   header, provider.label)
        return
    filters = []
    if provider and chance(rng, 0.3):
        filters.append(f"name={provider.name}")
    if provider and chance(rng, 0.2):
        filters.append(f"uuid={named(provider.label)}")
    if provider and chance(rng, 0.3):
        filters.append(f"in_tree={named(provider.label)}")
    if chance(rng, 0.3):
        classes = rng.sample(world.classes(), rng.randint(1, 2))
        filters.append("resources=" + ",".join(f"{c}:{rng.choice((1, 2, 8, 1000))}"
                                               for c in classes))
    if chance(rng, 0.15):
        filters.append(rng.choice(("resources=VCPU", "resources=NOPE_CLASS:1",
                                   "resources=VCPU:-1", "uuid=not-a-uuid",
                                   f"in_tree={world.new_uuid()}", "in_tree=nope",
                                   "colour=blue", "name=", "resources=VCPU:1,VCPU:2")))
    query = "?" + "&".join(filters) if filters else ""
    yield _get("list providers", f"/resource_providers{query}", header)


def _get(purpose: str, path: str, header: str | None, label: str | None = None) -> Request:
    """A GET whose body may state a provider's generation."""

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if label and answers[UPSTREAM].status == 200:
            world.learn_generation(label, answers[UPSTREAM].json())

    return Request(purpose, "GET", path, header, learn=learn)


# --------------------------------------------------------------------------------------
# Inventories
# --------------------------------------------------------------------------------------


def inventory_record(rng: random.Random) -> dict[str, Any]:
    """Inventory fields, mostly sensible, with boundary values among them."""
    total = rng.choice((1, 2, 4, 8, 16, 64, 1024, MAX_INT))
    record: dict[str, Any] = {"total": total}
    if chance(rng, 0.4):
        record["reserved"] = rng.choice((0, 1, total - 1, total))
    if chance(rng, 0.3):
        record["min_unit"] = rng.choice((1, 1, 2))
    if chance(rng, 0.3):
        record["max_unit"] = rng.choice((1, total, MAX_INT))
    if chance(rng, 0.3):
        record["step_size"] = rng.choice((1, 1, 2))
    if chance(rng, 0.3):
        record["allocation_ratio"] = rng.choice((1.0, 0.5, 1.5, 16.0, 0.0))
    return record


_BAD_INVENTORY = {
    "total": [0, -1, MAX_INT + 1, "8", 1.5, None],
    "reserved": [-1, "0", MAX_INT + 1],
    "min_unit": [0, "1"],
    "max_unit": [0, -3],
    "step_size": [0, 1.5],
    "allocation_ratio": ["x", 3.5e38, None],
}


def _inventory_target(world: World) -> tuple[Provider | None, str]:
    provider = world.some_provider()
    if provider is None or chance(world.rng, 0.08):
        return None, world.new_uuid()
    return provider, named(provider.label)


def _generation(rng: random.Random, provider: Provider | None) -> int:
    current = provider.generation if provider else 0
    return current if chance(rng, 0.8) else rng.choice((current + 1, max(current - 1, 0), 99))


def set_inventories(world: World) -> Plan:
    """PUT every inventory of a provider at once."""
    rng = world.rng
    provider, target = _inventory_target(world)
    header, version = pick_version(rng)
    classes = rng.sample(world.classes(), rng.randint(0, 3))
    if provider and provider.inventories and chance(rng, 0.5):
        classes = sorted(set(classes) | set(rng.sample(sorted(provider.inventories), 1)))
    inventories = {rc: inventory_record(rng) for rc in classes}
    if chance(rng, 0.08):
        unknown = rng.choice(("CUSTOM_NOT_DEFINED", "lower_case", "UNKNOWN_CLASS"))
        inventories[unknown] = {"total": 1}
    body: dict[str, Any] = {"resource_provider_generation": _generation(rng, provider),
                            "inventories": inventories}
    if chance(rng, 0.15):
        body = _spoil_inventories(rng, body)

    def learn(world: World, answers: dict[str, Answer]) -> None:
        answer = answers[UPSTREAM]
        if provider and answer.status == 200 and provider.label in world.providers:
            provider.inventories = dict(answer.json()["inventories"])
            world.learn_generation(provider.label, answer.json())

    yield Request("set all inventories", "PUT", f"/resource_providers/{target}/inventories",
                  header, body, learn=learn)


def _spoil_inventories(rng: random.Random, body: dict[str, Any]) -> dict[str, Any]:
    """One schema failure in an inventories body."""
    kind = rng.choice(("field", "generation", "extra", "missing", "type"))
    records = body["inventories"]
    if kind == "field" or not records:
        field_name = rng.choice(sorted(_BAD_INVENTORY))
        bad = rng.choice(_BAD_INVENTORY[field_name])
        records = {**records, "DISK_GB": {"total": 10, field_name: bad}}
        return {**body, "inventories": records}
    if kind == "generation":
        return {**body, "resource_provider_generation": rng.choice(("1", None, -1, 1.5))}
    if kind == "extra":
        return {**body, rng.choice(("surprise", "generation")): 1}
    if kind == "missing":
        return {key: value for key, value in body.items() if key != rng.choice(sorted(body))}
    return {**body, "inventories": rng.choice(([], "VCPU", {"VCPU": 8}))}


def add_inventory(world: World) -> Plan:
    """POST one inventory (its Location is compared too)."""
    rng = world.rng
    provider, target = _inventory_target(world)
    header, version = pick_version(rng)
    classes = world.classes()
    if provider and provider.inventories and chance(rng, 0.2):
        classes = sorted(provider.inventories)
    resource_class = rng.choice(classes)
    body = {"resource_class": resource_class, **inventory_record(rng)}
    if chance(rng, 0.15):
        body = _spoil(rng, body, {**_BAD_INVENTORY,
                                  "resource_class": ["", "lower", 5, "CUSTOM_UNDEFINED"]})

    yield Request("add an inventory", "POST", f"/resource_providers/{target}/inventories",
                  header, body, learn=_learn_inventory(provider, resource_class, 201))


def _inventory_class(world: World, provider: Provider | None) -> str:
    """Mostly a class the provider has inventory of; sometimes any class."""
    known = sorted(provider.inventories) if provider else []
    if known and chance(world.rng, 0.8):
        return world.rng.choice(known)
    return world.rng.choice(world.classes())


def update_inventory(world: World) -> Plan:
    rng = world.rng
    provider, target = _inventory_target(world)
    header, version = pick_version(rng)
    resource_class = _inventory_class(world, provider)
    body = {"resource_provider_generation": _generation(rng, provider),
            **inventory_record(rng)}
    if chance(rng, 0.15):
        body = _spoil(rng, body, {**_BAD_INVENTORY, "resource_provider_generation": ["0", None]})

    yield Request("update an inventory", "PUT",
                  f"/resource_providers/{target}/inventories/{resource_class}", header, body,
                  learn=_learn_inventory(provider, resource_class, 200))


def _learn_inventory(provider: Provider | None, resource_class: str, success: int):
    """What the walk learns from upstream's `success` answer to a write of one inventory:
    the record, and the provider's new generation."""

    def learn(world: World, answers: dict[str, Answer]) -> None:
        answer = answers[UPSTREAM]
        if provider and answer.status == success and provider.label in world.providers:
            record = dict(answer.json())
            record.pop("resource_provider_generation", None)
            provider.inventories[resource_class] = record
            world.learn_generation(provider.label, answer.json())

    return learn


def delete_inventories(world: World) -> Plan:
    """DELETE one inventory, or all of them (1.5+; 405 before)."""
    rng = world.rng
    provider, target = _inventory_target(world)
    everything = chance(rng, 0.35)
    header, _ = pick_version(rng, "1.5" if everything else "1.0")
    resource_class = _inventory_class(world, provider)

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if provider and answers[UPSTREAM].status == 204 and provider.label in world.providers:
            if everything:
                provider.inventories.clear()
            else:
                provider.inventories.pop(resource_class, None)
            provider.generation += 1

    path = f"/resource_providers/{target}/inventories"
    if not everything:
        path += f"/{resource_class}"
    yield Request("delete all inventories" if everything else "delete an inventory",
                  "DELETE", path, header, learn=learn)


def read_inventories(world: World) -> Plan:
    """GET a provider's inventories (all or one), usages or allocations."""
    rng = world.rng
    provider, target = _inventory_target(world)
    header, _ = pick_version(rng)
    label = provider.label if provider else None
    path = f"/resource_providers/{target}/inventories"
    if chance(rng, 0.4):
        known = sorted(provider.inventories) if provider and provider.inventories else []
        path += "/" + (rng.choice(known) if known else rng.choice(world.classes()))
    what = rng.choice(("inventories", "usages", "allocations"))
    if what != "inventories":
        path = f"/resource_providers/{target}/{what}"
    yield _get(f"read a provider's {what}", path, header, label)


def put_inventories_on_unknown_provider(world: World) -> Plan:
    """Which comes first: the unknown provider (404) or the invalid body (400)?"""
    header, _ = pick_version(world.rng)
    body = world.rng.choice(({"inventories": {}}, {"resource_provider_generation": 0},
                             {"resource_provider_generation": 0,
                              "inventories": {"VCPU": {"total": 0}}}))
    yield Request("set inventories of an unknown provider, invalid body", "PUT",
                  f"/resource_providers/{world.new_uuid()}/inventories", header, body)


# --------------------------------------------------------------------------------------
# Resource classes (1.2+)
# --------------------------------------------------------------------------------------


def resource_classes(world: World) -> Plan:
    """List, read, create (POST, or PUT at 1.7+), rename (PUT before 1.7), delete classes."""
    rng = world.rng
    header, version = pick_version(rng, "1.2")
    customs = sorted(world.custom_classes)
    existing = rng.choice(customs) if customs else "CUSTOM_NEVER_MADE"
    kind = rng.choices(("list", "read", "create", "create by PUT", "rename", "delete",
                        "invalid name"), (10, 10, 20, 20, 5, 15, 10))[0]
    name = world.new_class_name()
    if kind == "list":
        yield Request("list resource classes", "GET", "/resource_classes", header)
    elif kind == "read":
        target = rng.choice((existing, "VCPU", "CUSTOM_NOT_THERE"))
        yield Request("read a resource class", "GET", f"/resource_classes/{target}", header)
    elif kind == "create":
        chosen = rng.choice((name, name, existing, "VCPU"))

        def learn_post(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status == 201:
                world.custom_classes.add(chosen)

        yield Request("create a resource class", "POST", "/resource_classes", header,
                      {"name": chosen}, learn=learn_post)
    elif kind == "create by PUT":
        chosen = rng.choice((name, name, existing))

        def learn_put(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status in (201, 204):
                world.custom_classes.add(chosen)

        yield Request("create a resource class by PUT (1.7+)", "PUT",
                      f"/resource_classes/{chosen}", header, learn=learn_put)
    elif kind == "rename":
        # Before 1.7, PUT /resource_classes/{name} with a body renames a custom class.
        header, version = pick_version(rng, "1.2", "1.6")

        def learn_rename(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status == 200 and existing in world.custom_classes:
                world.custom_classes.discard(existing)
                world.custom_classes.add(name)
                _rename_class(world, existing, name)

        yield Request("rename a resource class (before 1.7)", "PUT",
                      f"/resource_classes/{existing}", header, {"name": name}, learn=learn_rename)
    elif kind == "delete":
        chosen = rng.choice((existing, existing, "VCPU", "CUSTOM_NOT_THERE"))

        def learn_delete(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status == 204:
                world.custom_classes.discard(chosen)

        yield Request("delete a resource class", "DELETE", f"/resource_classes/{chosen}",
                      header, learn=learn_delete)
    else:
        bad = rng.choice(("custom_lower", "NOT_CUSTOM", "CUSTOM_" + "X" * 250, "CUSTOM_", ""))
        if chance(rng, 0.5):
            yield Request("create a resource class, bad name", "POST", "/resource_classes",
                          header, rng.choice(({"name": bad}, {}, {"name": name, "x": 1})))
        else:
            yield Request("create a resource class by PUT, bad name", "PUT",
                          f"/resource_classes/{bad or 'CUSTOM_'}", header)


# --------------------------------------------------------------------------------------
# Traits and aggregates
# --------------------------------------------------------------------------------------

# A few standard traits (os-traits has them all), and names no trait has.
# MISC_SHARES_VIA_AGGREGATE makes a provider lend its inventory to the trees of its
# aggregates, for the allocation candidates.
STANDARD_TRAITS = ("HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42", "STORAGE_DISK_SSD", "COMPUTE_NODE",
                   "MISC_SHARES_VIA_AGGREGATE")
BAD_TRAITS = ("custom_lower", "NOT_CUSTOM", "CUSTOM_" + "X" * 250, "CUSTOM_")
# The aggregates the walk gives providers: a small pool, so that they recur.
AGGREGATES = ("42896e0d-205d-4fe3-bd1e-100924931787", "5e08ea53-c4c6-448e-9334-ac4953de3cfa",
              "9C1E3C6A-7B7E-4B5F-8D0B-0E6B6A2B1F00", "d2f2bd0c-5a5f-4a57-9c0e-6f0c1c1e1a11")


def traits(world: World) -> Plan:
    """List (with filters), read, create, delete traits, and create ones with bad names."""
    rng = world.rng
    header, _ = pick_version(rng, "1.6")
    customs = sorted(world.custom_traits)
    existing = rng.choice(customs) if customs else "CUSTOM_NEVER_MADE"
    kind = rng.choices(("list", "read", "create", "delete", "invalid name"),
                       (15, 10, 25, 15, 8))[0]
    if kind == "list":
        filters = []
        if chance(rng, 0.4):
            filters.append(rng.choice((
                f"name=in:{existing},{rng.choice(STANDARD_TRAITS)},CUSTOM_NOT_THERE",
                f"name=startswith:{existing[:rng.randint(7, len(existing))]}",
                "name=startswith:CUSTOM_", "name=in:", "name=HW_CPU", "name=other:X")))
        if chance(rng, 0.3):
            filters.append(f"associated={rng.choice(('true', 'false', 'TRUE', 'maybe'))}")
        if chance(rng, 0.05):
            filters.append("colour=blue")
        query = "?" + "&".join(filters) if filters else ""
        yield Request("list traits", "GET", f"/traits{query}", header)
    elif kind == "read":
        target = rng.choice((existing, rng.choice(STANDARD_TRAITS), "CUSTOM_NOT_THERE"))
        yield Request("read a trait", "GET", f"/traits/{target}", header)
    elif kind == "create":
        chosen = rng.choice((world.new_trait_name(), world.new_trait_name(), existing))

        def learn_create(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status in (201, 204):
                world.custom_traits.add(chosen)

        yield Request("create a trait", "PUT", f"/traits/{chosen}", header, learn=learn_create)
    elif kind == "delete":
        chosen = rng.choice((existing, existing, rng.choice(STANDARD_TRAITS), "CUSTOM_NOT_THERE"))

        def learn_delete(world: World, answers: dict[str, Answer]) -> None:
            if answers[UPSTREAM].status == 204:
                world.custom_traits.discard(chosen)

        yield Request("delete a trait", "DELETE", f"/traits/{chosen}", header,
                      learn=learn_delete)
    else:
        yield Request("create a trait, bad name", "PUT", f"/traits/{rng.choice(BAD_TRAITS)}",
                      header)


def provider_traits(world: World) -> Plan:
    """Read, replace (right or stale generation, unknown or bad traits) or remove the
    traits of a provider, or of one that does not exist."""
    rng = world.rng
    provider, target = _inventory_target(world)
    header, _ = pick_version(rng, "1.6")
    path = f"/resource_providers/{target}/traits"
    kind = rng.choices(("read", "replace", "remove"), (8, 14, 4))[0]
    if kind == "read":
        yield _get("read a provider's traits", path, header,
                   provider.label if provider else None)
        return
    if kind == "remove":
        def learn_remove(world: World, answers: dict[str, Answer]) -> None:
            if provider and answers[UPSTREAM].status == 204:
                # Upstream moves the generation only when there were traits to remove.
                if provider.traits:
                    world.bump({provider.label})
                provider.traits = set()

        yield Request("remove a provider's traits", "DELETE", path, header, learn=learn_remove)
        return
    pool = sorted(world.custom_traits) + list(STANDARD_TRAITS)
    wanted = rng.sample(pool, rng.randint(0, min(3, len(pool))))
    if chance(rng, 0.08):
        # One unknown trait at most: upstream names several in an order of its own.
        wanted.append(rng.choice(("CUSTOM_NOT_THERE", "lower_case")))
    body: Any = {"resource_provider_generation": _generation(rng, provider), "traits": wanted}
    if chance(rng, 0.1):
        body = _spoil(rng, body, {"traits": ["HW_CPU_X86_AVX2", [""], ["x" * 256], [1]],
                                  "resource_provider_generation": ["1", None, 1.5]})

    def learn_replace(world: World, answers: dict[str, Answer]) -> None:
        answer = answers[UPSTREAM]
        if provider and answer.status == 200 and provider.label in world.providers:
            provider.traits = set(answer.json()["traits"])
            world.learn_generation(provider.label, answer.json())

    yield Request("replace a provider's traits", "PUT", path, header, body, learn=learn_replace)


def aggregates(world: World) -> Plan:
    """Read or replace the aggregates of a provider: the bare list before 1.19, with the
    generation from 1.19; duplicates, non-uuids and the other form among them."""
    rng = world.rng
    provider, target = _inventory_target(world)
    header, version = pick_version(rng, "1.1")
    path = f"/resource_providers/{target}/aggregates"
    if chance(rng, 0.4):
        yield _get("read a provider's aggregates", path, header,
                   provider.label if provider else None)
        return
    wanted: list[Any] = rng.sample(AGGREGATES, rng.randint(0, 3))
    if wanted and chance(rng, 0.1):
        wanted.append(rng.choice((wanted[0], "not-a-uuid", wanted[0].replace("-", ""), 7)))
    with_generation = at_least(version, "1.19")
    if chance(rng, 0.1):
        with_generation = not with_generation
    body: Any = ({"aggregates": wanted, "resource_provider_generation":
                  _generation(rng, provider)} if with_generation else wanted)
    if with_generation and chance(rng, 0.1):
        body = _spoil(rng, body, {"aggregates": ["x", [None]],
                                  "resource_provider_generation": ["1", None]})

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if provider and answers[UPSTREAM].status == 200 and provider.label in world.providers:
            world.learn_generation(provider.label, answers[UPSTREAM].json())

    yield Request("replace a provider's aggregates", "PUT", path, header, body, learn=learn)


def filter_providers(world: World) -> Plan:
    """The list of providers filtered by aggregate (1.3+) and trait (1.18+): each form,
    repeated, forbidden, with the other filters, and malformed. At most one trait or
    aggregate in a request is unknown or malformed: upstream names the first it meets
    in a set, whose order differs in each of its processes."""
    rng = world.rng
    header, _ = pick_version(rng, "1.3")
    traits = sorted(world.custom_traits) + list(STANDARD_TRAITS)
    filters = [f"member_of={_membership_value(rng, AGGREGATES, ('in:', '!in:', ''))}"
               for _ in range(rng.randint(0, 2))]
    filters += [f"required={_membership_value(rng, traits, ('in:', ''))}"
                for _ in range(rng.randint(0, 2))]
    provider = world.some_provider()
    if provider and chance(rng, 0.2):
        filters.append(f"in_tree={named(provider.label)}")
    if chance(rng, 0.2):
        filters.append(rng.choice(("resources=VCPU:1", "resources=NOPE_CLASS:1")))
    if not filters or chance(rng, 0.15):
        aggregate = rng.choice(AGGREGATES)
        filters.append(rng.choice((
            "member_of=nope", "member_of=in:", f"member_of=!in:{aggregate},",
            f"member_of={aggregate},{aggregate}", f"member_of=in:{aggregate},!{aggregate}",
            "required=", "required=!", "required=HW_CPU_X86_AVX2,", "required=in:",
            "required=in:HW_CPU_X86_AVX2,!COMPUTE_NODE", "required=CUSTOM_NOPE",
            "required=!CUSTOM_NOPE", "required=!!HW_CPU_X86_AVX2", "required= COMPUTE_NODE ")))
    rng.shuffle(filters)
    yield _get("list providers by aggregate and trait",
               "/resource_providers?" + "&".join(filters), header)


def _membership_value(rng: random.Random, pool: Sequence[str], lists: Sequence[str]) -> str:
    """One of `pool`, forbidden (`!`) or not, or two behind one of the prefixes `lists`:
    the forms `member_of` and `required` share, though not in the same microversions."""
    if chance(rng, 0.4):
        return rng.choice(lists) + ",".join(rng.sample(pool, 2))
    return rng.choice(("!", "")) + rng.choice(pool)


def _rename_class(world: World, old: str, new: str) -> None:
    for provider in world.providers.values():
        if old in provider.inventories:
            provider.inventories[new] = provider.inventories.pop(old)
    for consumer in world.consumers.values():
        for amounts in consumer.allocations.values():
            if old in amounts:
                amounts[new] = amounts.pop(old)


# --------------------------------------------------------------------------------------
# Allocation candidates
# --------------------------------------------------------------------------------------

# Spoiled query strings: each fails one of upstream's checks of GET /allocation_candidates.
BAD_CANDIDATE_QUERIES = (
    "", "resources=", "resources=VCPU", "resources=VCPU:0", "resources=VCPU:-1",
    "resources=VCPU:x", "resources=NOPE_CLASS:1", "resources=CUSTOM_NOPE:1",
    "resources=VCPU:1,,MEMORY_MB:1", "resources=VCPU:1&limit=0", "resources=VCPU:1&limit=x",
    "resources=VCPU:1&limit=-1", "resources=VCPU:1&required=", "resources=VCPU:1&required=!",
    "resources=VCPU:1&required=CUSTOM_NOPE", "resources=VCPU:1&required=in:",
    "resources=VCPU:1&required=COMPUTE_NODE,!COMPUTE_NODE", "resources=VCPU:1&member_of=nope",
    "resources=VCPU:1&member_of=in:", "resources=VCPU:1&in_tree=nope",
    "resources=VCPU:1&group_policy=sometimes", "resources1=VCPU:1&resources2=VCPU:1",
    "required1=COMPUTE_NODE&resources=VCPU:1", "member_of1=in:&resources1=VCPU:1",
    "resources_X=VCPU:1&same_subtree=_X,_Y", "resources=VCPU:1&same_subtree=,_X",
    "resources=VCPU:1&root_required=in:COMPUTE_NODE,HW_CPU_X86_AVX2",
    "resources=VCPU:1&root_required=COMPUTE_NODE&root_required=HW_CPU_X86_AVX2",
    "resources" + "x" * 65 + "=VCPU:1", "resources=VCPU:1&colour=blue",
)


def allocation_candidates(world: World) -> Plan:
    """GET /allocation_candidates (1.10+): one to three request groups of the classes the
    providers hold, each perhaps with traits, aggregates and a tree, and the request-wide
    `group_policy`, `root_required`, `same_subtree` and `limit`; sometimes a spoiled
    query. Each parameter is mostly sent from the microversion that has it, sometimes
    before. A `limit` is never below the number of candidates there may be, since which
    of them upstream keeps is not defined (the comparison sets their order aside, not
    their choice). At most one trait is unknown: upstream names the first it meets in a
    set."""
    rng = world.rng
    header, version = pick_version(rng, "1.10")

    def offered(since: str) -> bool:
        return at_least(version, since) or chance(rng, 0.1)

    if chance(rng, 0.15):
        query = rng.choice(BAD_CANDIDATE_QUERIES)
        yield _get("spoiled allocation candidates", f"/allocation_candidates?{query}", header)
        return
    stocked = sorted({name for provider in world.providers.values()
                      for name in provider.inventories}) or list(world.classes())
    traits = sorted(world.custom_traits) + list(STANDARD_TRAITS)
    suffixes = [""]
    if offered("1.25"):
        pool = ("1", "2", "_NET", "_CPU") if offered("1.33") else ("1", "2")
        suffixes += rng.sample(pool, rng.choice((0, 1, 2)))
    trait_forms = ("in:", "") if offered("1.39") else ("",)
    filters = []
    for suffix in suffixes:
        classes = rng.sample(stocked, min(len(stocked), rng.randint(1, 2)))
        filters.append(f"resources{suffix}=" + ",".join(
            f"{name}:{rng.choice((1, 1, 2, 4, 64))}" for name in classes))
        if offered("1.17") and chance(rng, 0.3):
            filters.append(f"required{suffix}={_membership_value(rng, traits, trait_forms)}")
        if offered("1.21") and chance(rng, 0.2):
            filters.append(
                f"member_of{suffix}={_membership_value(rng, AGGREGATES, ('in:', '!in:', ''))}")
        provider = world.some_provider()
        if provider and offered("1.31") and chance(rng, 0.15):
            filters.append(f"in_tree{suffix}={named(provider.label)}")
    if len(suffixes) > 1 and chance(rng, 0.9):
        filters.append(f"group_policy={rng.choice(('none', 'isolate'))}")
    if len(suffixes) > 2 and offered("1.36") and chance(rng, 0.3):
        filters.append("same_subtree=" + ",".join(suffixes[1:]))
    if offered("1.35") and chance(rng, 0.15):
        filters.append(f"root_required={rng.choice(('', '!'))}{rng.choice(STANDARD_TRAITS)}")
    if offered("1.16") and chance(rng, 0.15):
        filters.append(f"limit={rng.choice((1000, MAX_INT))}")
    rng.shuffle(filters)
    yield _get("allocation candidates", "/allocation_candidates?" + "&".join(filters), header)


# --------------------------------------------------------------------------------------
# Allocations
# --------------------------------------------------------------------------------------


def _allocations(world: World) -> dict[str, dict[str, int]]:
    """Amounts on one or two providers, mostly within what their inventories allow."""
    rng = world.rng
    stocked = [p for p in world.providers.values() if p.inventories]
    if not stocked:
        return {}
    chosen: dict[str, dict[str, int]] = {}
    for provider in rng.sample(stocked, min(len(stocked), rng.choice((1, 1, 2)))):
        stock = sorted(provider.inventories)
        classes = rng.sample(stock, rng.randint(1, len(stock)))
        chosen[provider.label] = {resource_class: _amount(rng, provider.inventories[resource_class])
                                  for resource_class in classes}
    return chosen


def _amount(rng: random.Random, record: dict[str, Any]) -> int:
    """Mostly the smallest amount the inventory allows; sometimes one at or past a limit."""
    step, low = record.get("step_size", 1), record.get("min_unit", 1)
    smallest = -(-low // step) * step
    if chance(rng, 0.75):
        return smallest
    total = record.get("total", 1)
    return rng.choice((smallest + 1, total, total + 1, record.get("max_unit", total) + 1,
                       total - record.get("reserved", 0)))


def _consumer_for_write(world: World) -> Consumer:
    existing = world.some_consumer(to_write=True)
    if existing and chance(world.rng, 0.6):
        return existing
    return world.new_consumer()


def _consumer_generation(rng: random.Random, consumer: Consumer) -> int | None:
    """Mostly the generation upstream expects; sometimes stale, null, or 0."""
    if chance(rng, 0.8):
        return consumer.generation
    return rng.choice((None, 0, 1, (consumer.generation or 0) + 1))


def _dict_entry(world: World, version: Microversion, consumer: Consumer,
                allocations: dict[str, dict[str, int]]) -> dict[str, Any]:
    """One consumer's body in dict form (1.12+), with the keys its microversion wants."""
    rng = world.rng
    entry: dict[str, Any] = {
        "allocations": {named(label): {"resources": amounts}
                        for label, amounts in allocations.items()},
        "project_id": consumer.project,
        "user_id": consumer.user,
    }
    if chance(rng, 0.1):
        for value in entry["allocations"].values():
            value["generation"] = rng.randrange(5)
    if at_least(version, "1.28"):
        entry["consumer_generation"] = _consumer_generation(rng, consumer)
    if at_least(version, "1.34") and chance(rng, 0.25):
        group = rng.choice(("", "group-1", "_", "a b", "x" * 70))
        targets = [named(label) for label in allocations] or [world.new_uuid()]
        entry["mappings"] = {group: targets}
    if at_least(version, "1.38"):
        entry["consumer_type"] = rng.choice(CONSUMER_TYPES)
    return entry


_BAD_ALLOCATION_FIELDS = {
    "project_id": ["", "p" * 256, 5, None],
    "user_id": ["", 5],
    "consumer_generation": ["1", 1.5, "null"],
    "consumer_type": ["lower", "", "A B", 3],
    "mappings": [{}, {"g": []}, {"g": ["not-a-uuid"]}, []],
    "allocations": [[], "x", None],
}


def _learn_write(consumers: list[tuple[Consumer, dict[str, dict[str, int]]]],
                 *, incomplete: bool = False) -> Callable[[World, dict[str, Answer]], None]:
    """How an allocation write changes the model, once upstream has answered."""

    def learn(world: World, answers: dict[str, Answer]) -> None:
        answer = answers[UPSTREAM]
        if answer.status == 204:
            touched: set[str] = set()
            for consumer, allocations in consumers:
                touched |= world.record_allocations(consumer, allocations)
                if incomplete:
                    consumer.project = consumer.user = INCOMPLETE
            world.bump(touched)
        elif answer.status == 409:
            for consumer, _ in consumers:
                world.learn_consumer_generation(consumer, answer.json())
        elif answer.status == 400 and "that does not exist" in answer.text:
            for consumer, _ in consumers:
                world.record_leftover(consumer)

    return learn


def put_allocations(world: World) -> Plan:
    """PUT a consumer's allocations: list form (<1.12) or dict form, valid or not."""
    rng = world.rng
    header, version = pick_version(rng)
    consumer = _consumer_for_write(world)
    allocations = _allocations(world)
    unknown = chance(rng, 0.08)
    if unknown:
        allocations = {**allocations, "ghost": {"VCPU": 1}}
    if chance(rng, 0.06) and allocations:
        label = rng.choice(sorted(allocations))
        allocations[label] = {rng.choice(("CUSTOM_NOT_DEFINED", "lower", "VCPU")):
                              rng.choice((0, -1, 1))}
    if at_least(version, "1.12"):
        body = _dict_entry(world, version, consumer, allocations)
    else:
        body = {"allocations": _list_form(allocations)}
        if at_least(version, "1.8"):
            body.update(project_id=consumer.project, user_id=consumer.user)
    if chance(rng, 0.12):
        body = _spoil(rng, body, {**_BAD_ALLOCATION_FIELDS,
                                  **{key: [1] for key in ("consumer_generation", "mappings",
                                                          "consumer_type", "project_id")
                                     if key not in body}})
    path_uuid = consumer.uuid
    if chance(rng, 0.05):
        # Upstream takes a dashless or upper-case uuid as the same consumer.
        path_uuid = rng.choice(("not-a-uuid", consumer.uuid.replace("-", ""),
                                consumer.uuid.upper()))
    if unknown:
        known = "a new" if consumer.generation is None else "a known"
        what = f"a provider that does not exist, {known} consumer"
        learn = _learn_write([(consumer, {})])  # never accepted: only a leftover to learn
    else:
        what = "dict form" if at_least(version, "1.12") else "list form"
        learn = _learn_write([(consumer, allocations)], incomplete=not at_least(version, "1.8"))
    yield Request(f"put allocations ({what})", "PUT", f"/allocations/{path_uuid}", header,
                  _with_ghost(world, body), learn=learn if path_uuid != "not-a-uuid" else None,
                  consumers=(consumer.uuid,))


def _list_form(allocations: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Allocations as PUT wants them below 1.12."""
    return [{"resource_provider": {"uuid": named(label)}, "resources": amounts}
            for label, amounts in allocations.items()]


def _with_ghost(world: World, body: Any) -> Any:
    """The unknown provider `{{ghost}}` as a uuid that exists nowhere (from the seed)."""
    text = json.dumps(body)
    if "{{ghost}}" in text:
        text = text.replace("{{ghost}}", world.new_uuid())
    return json.loads(text)


def unknown_provider_then_retry(world: World) -> Plan:
    """A new consumer's write fails on an unknown provider (1.28+); then it is retried.

    Upstream keeps the consumer, empty, at generation 0, so the retry with `null` meets
    409 and the retry with 0 succeeds (see README.md, known deviations). In strict mode the
    retry writes nothing (`allocations: {}`), so that whichever side accepts it, no
    provider changes and the two servers still agree on everything else.
    """
    rng = world.rng
    header, version = pick_version(rng, "1.28")
    if version < Microversion(1, 28):
        return
    consumer = world.new_consumer()
    good = _allocations(world)
    failing = {**good, "ghost": {"VCPU": 1}}
    body = _dict_entry(world, version, consumer, failing)
    body["consumer_generation"] = None
    yield _allocation_write(world, header, consumer, body, {}, chance(rng, 0.4),
                            "a new consumer, a provider that does not exist")
    yield from probe_leftover(world, consumer, {} if world.strict else good)


def probe_leftover(world: World, consumer: Consumer | None = None,
                   allocations: dict[str, dict[str, int]] | None = None) -> Plan:
    """A write (1.28+) for a consumer upstream left behind, with `null` or 0."""
    rng = world.rng
    leftovers = world.leftovers()
    consumer = consumer or (rng.choice(leftovers) if leftovers else None)
    if consumer is None:
        return
    header, version = pick_version(rng, "1.28")
    if version < Microversion(1, 28):
        return
    allocations = allocations if allocations is not None else {}
    entry = _dict_entry(world, version, consumer, allocations)
    entry["consumer_generation"] = rng.choice((None, 0))
    yield _allocation_write(world, header, consumer, entry, allocations, chance(rng, 0.5),
                            f"a leftover consumer, consumer_generation "
                            f"{entry['consumer_generation']}")


def _allocation_write(world: World, header: str | None, consumer: Consumer, entry: dict,
                      allocations: dict, by_post: bool, what: str) -> Request:
    learn = _learn_write([(consumer, allocations)])
    if by_post:
        return Request(f"post allocations ({what})", "POST", "/allocations", header,
                       _with_ghost(world, {consumer.uuid: entry}), learn=learn,
                       consumers=(consumer.uuid,))
    return Request(f"put allocations ({what})", "PUT", f"/allocations/{consumer.uuid}", header,
                   _with_ghost(world, entry), learn=learn, consumers=(consumer.uuid,))


def old_put_on_existing_consumer(world: World) -> Plan:
    """A list-form PUT below 1.8 on a consumer that has a project; then what shows it."""
    rng = world.rng
    consumer = next((c for c in world.consumers.values() if c.allocations and not c.retired
                     and c.project != INCOMPLETE), None)
    allocations = _allocations(world)
    if consumer is None or not allocations:
        return
    project = consumer.project
    version = Microversion(1, rng.randint(0, 7))
    body = {"allocations": _list_form(allocations)}
    yield Request("put allocations below 1.8 on an existing consumer", "PUT",
                  f"/allocations/{consumer.uuid}", f"placement {version}", body,
                  learn=_learn_write([(consumer, allocations)], incomplete=True),
                  consumers=(consumer.uuid,))
    yield Request("read the consumer after an old PUT", "GET", f"/allocations/{consumer.uuid}",
                  f"placement 1.{rng.choice((12, 28, 38))}")
    for who in (project, INCOMPLETE):
        yield Request("usages after an old PUT", "GET", f"/usages?project_id={who}",
                      f"placement 1.{rng.choice((9, 38))}")


def _consumer_entries(world: World, version: Microversion, counts: tuple[int, ...],
                      with_allocations: float
                      ) -> tuple[dict[str, Any], list[tuple[Consumer, dict]]]:
    """The consumers of a write of several at once (POST /allocations, the reshaper's
    `allocations`), as many as one of `counts`: their entries by uuid, and what each is
    to hold (nothing, unless `with_allocations` comes up; now and then a ghost)."""
    rng = world.rng
    entries: dict[str, Any] = {}
    written = []
    for _ in range(rng.choice(counts)):
        consumer = _consumer_for_write(world)
        if consumer.uuid in entries:
            continue
        allocations = _allocations(world) if chance(rng, with_allocations) else {}
        if chance(rng, 0.05):
            allocations = {**allocations, "ghost": {"VCPU": 1}}
        entries[consumer.uuid] = _dict_entry(world, version, consumer, allocations)
        written.append((consumer, allocations))
    return entries, written


def post_allocations(world: World) -> Plan:
    """POST /allocations (1.13+; 404 before) for one to three consumers."""
    rng = world.rng
    header, version = pick_version(rng, "1.13")
    body, written = _consumer_entries(world, version, (1, 1, 2, 3), 0.8)
    if chance(rng, 0.1):
        first = next(iter(body))
        body[first] = _spoil(rng, body[first], _BAD_ALLOCATION_FIELDS)
    if chance(rng, 0.04):
        body = rng.choice(({}, {"not-a-consumer": {}}, []))
    yield Request("post allocations", "POST", "/allocations", header,
                  _with_ghost(world, body), learn=_learn_write(written),
                  consumers=tuple(consumer.uuid for consumer, _ in written))


def reshape(world: World) -> Plan:
    """POST /reshaper (1.30+; 404 before): new inventories for one or two providers and
    allocations for up to two consumers, mostly a class moved from a provider into
    another with its allocations, in one request."""
    rng = world.rng
    header, version = pick_version(rng, "1.30")
    providers = list(world.providers.values())
    stocked = [p for p in providers if p.inventories]
    if stocked and chance(rng, 0.6):
        # A move: one class of a stocked provider goes, inventory and all, to another.
        source, destination = rng.choice(stocked), rng.choice(providers)
        moved = rng.choice(sorted(source.inventories))
        wanted = {source.label: {rc: record for rc, record in source.inventories.items()
                                 if rc != moved}}
        if destination is not source:
            wanted[destination.label] = {**destination.inventories,
                                         moved: source.inventories[moved]}
    else:
        chosen = rng.sample(providers, min(len(providers), rng.choice((1, 2, 2))))
        wanted = {p.label: {rc: inventory_record(rng)
                            for rc in rng.sample(world.classes(), rng.randint(0, 2))}
                  for p in chosen}
    inventories = {
        named(label): {"resource_provider_generation": _generation(rng, world.providers[label]),
                       "inventories": records}
        for label, records in wanted.items()}
    if chance(rng, 0.06) or not inventories:
        inventories[world.new_uuid()] = {"resource_provider_generation": 0, "inventories": {}}
    allocations, written = _consumer_entries(world, version, (0, 1, 1, 2), 0.85)
    body: dict[str, Any] = {"inventories": inventories, "allocations": allocations}
    if chance(rng, 0.08):
        body = _spoil(rng, body, {"inventories": [{}, [], None], "allocations": [[], None]})
    learn_allocations = _learn_write(written)

    def learn(world: World, answers: dict[str, Answer]) -> None:
        if answers[UPSTREAM].status == 204:
            # Upstream moves a provider of `inventories` once for its new inventories on
            # top of its old (not when the new ones are empty), once for the new ones.
            world.bump({label for label, records in wanted.items() if records})
            for label, records in wanted.items():
                if label in world.providers:
                    world.providers[label].inventories = dict(records)
            world.bump(set(wanted))
        learn_allocations(world, answers)

    yield Request("reshape", "POST", "/reshaper", header, _with_ghost(world, body),
                  learn=learn, consumers=tuple(consumer.uuid for consumer, _ in written))


def read_or_delete_allocations(world: World) -> Plan:
    """GET or DELETE a consumer's allocations; DELETE does not check generations."""
    rng = world.rng
    header, _ = pick_version(rng)
    consumer = world.some_consumer()
    target = consumer.uuid if consumer and chance(rng, 0.85) else rng.choice(
        (world.new_uuid(), "not-a-uuid"))
    if chance(rng, 0.65):

        def learn_read(world: World, answers: dict[str, Answer]) -> None:
            body = answers[UPSTREAM].json()
            if consumer and isinstance(body, dict) and "consumer_generation" in body:
                consumer.generation = body["consumer_generation"]

        yield Request("read a consumer's allocations", "GET", f"/allocations/{target}", header,
                      learn=learn_read)
        return

    def learn_delete(world: World, answers: dict[str, Answer]) -> None:
        if consumer and answers[UPSTREAM].status == 204:
            consumer.allocations = {}
            consumer.generation = None

    yield Request("delete a consumer's allocations", "DELETE", f"/allocations/{target}",
                  header, learn=learn_delete, consumers=(target,))


def usages(world: World) -> Plan:
    """GET /usages (1.9+; 404 before), by project, user and consumer type (1.38+)."""
    rng = world.rng
    header, version = pick_version(rng, "1.9")
    query = [f"project_id={rng.choice((*world.projects, INCOMPLETE, 'nobody'))}"]
    if chance(rng, 0.4):
        query.append(f"user_id={rng.choice((*world.users, INCOMPLETE))}")
    if chance(rng, 0.4):
        kind = rng.choice((*CONSUMER_TYPES, "all", "unknown", "NONE_SUCH"))
        query.append(f"consumer_type={kind}")
    if chance(rng, 0.1):
        query = rng.choice(([], ["colour=red", *query], ["project_id="]))
    yield Request("read usages", "GET", "/usages?" + "&".join(query), header)


# --------------------------------------------------------------------------------------
# Everything else: the root, unknown paths, wrong methods
# --------------------------------------------------------------------------------------


def root(world: World) -> Plan:
    """GET /, which needs no token."""
    header, _ = pick_version(world.rng)
    yield Request("read the root", "GET", "/", header, token=world.rng.choice(("admin", None)))


def nowhere(world: World) -> Plan:
    """A path the API does not have, or a method a path does not take."""
    rng = world.rng
    header, _ = pick_version(rng)
    provider = world.some_provider()
    target = named(provider.label) if provider else world.new_uuid()
    method, path = rng.choice((
        ("GET", "/nothing-here"), ("GET", f"/resource_providers/{target}/nothing"),
        ("GET", "/allocations"), ("PATCH", "/resource_providers"),
        ("DELETE", "/resource_providers"), ("POST", f"/allocations/{world.new_uuid()}"),
        ("PUT", "/usages"), ("POST", f"/resource_providers/{target}"),
        ("PATCH", f"/resource_providers/{target}/inventories"),
        ("POST", "/resource_classes/CUSTOM_X"), ("DELETE", "/"),
        ("PUT", f"/resource_providers/{target}/allocations"),
        ("DELETE", f"/resource_providers/{target}/usages"),
    ))
    yield Request("a wrong path or method", method, path, header)


# --------------------------------------------------------------------------------------
# Spoiling a body
# --------------------------------------------------------------------------------------


def _spoil(rng: random.Random, body: dict[str, Any], bad_values: dict[str, list]) -> dict[str, Any]:
    """One schema failure: a bad value, a missing key, an extra key, or the wrong type."""
    kind = rng.choice(("value", "value", "missing", "extra", "type"))
    if kind == "value":
        key = rng.choice(sorted(bad_values))
        return {**body, key: rng.choice(bad_values[key])}
    if kind == "missing" and body:
        dropped = rng.choice(sorted(body))
        return {key: value for key, value in body.items() if key != dropped}
    if kind == "extra":
        return {**body, rng.choice(("extra", "generation", "uuid", "name")): rng.choice((1, "x"))}
    return rng.choice(([body], "body", 42, None))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------
# The repertoire, with how often each plan is chosen
# --------------------------------------------------------------------------------------

REPERTOIRE: tuple[tuple[Callable[[World], Plan], int], ...] = (
    (create_provider, 14),
    (update_provider, 5),
    (delete_provider, 3),
    (read_providers, 7),
    (set_inventories, 10),
    (add_inventory, 5),
    (update_inventory, 4),
    (delete_inventories, 3),
    (read_inventories, 6),
    (put_inventories_on_unknown_provider, 1),
    (resource_classes, 7),
    (traits, 6),
    (provider_traits, 6),
    (aggregates, 5),
    (filter_providers, 5),
    (allocation_candidates, 6),
    (put_allocations, 14),
    (post_allocations, 6),
    (reshape, 4),
    (unknown_provider_then_retry, 2),
    (probe_leftover, 2),
    (old_put_on_existing_consumer, 2),
    (read_or_delete_allocations, 7),
    (usages, 4),
    (root, 1),
    (nowhere, 3),
)


def next_plan(world: World) -> Plan:
    plans, weights = zip(*REPERTOIRE)
    return world.rng.choices(plans, weights)[0](world)
