"""The walk's model of the world it created, as upstream sees it.

Random requests mostly miss: a random uuid names no provider, a random generation is
stale. The walk keeps this model so that most requests name providers, classes and
consumers that exist, with the generation the server expects, and only some are wrong on
purpose. The model follows upstream's answers (upstream is the behaviour to match): a
request changes the model only when upstream accepted it, and generations are re-learned
from every body and conflict message that states them, so a wrong guess heals itself.

Providers are named by label (`rp3`) in the requests the walk writes: a provider created
with a uuid of the walk's has that uuid on both servers, one created without a uuid has a
uuid of each server's choosing, learned from each server's answer.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

UPSTREAM = "upstream"
REFERENCE = "reference"
SIDES = (UPSTREAM, REFERENCE)

# Classes every Placement has from the start (a few of os-resource-classes' standard set).
STANDARD_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "IPV4_ADDRESS", "SRIOV_NET_VF")

# A placeholder for a provider in the text of a request: `{{rp3}}`.
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

_CONFLICT = re.compile(r"consumer generation conflict - expected (\w+) but got")


def named(label: str) -> str:
    """The placeholder for a provider in a request, replaced per server: `{{rp3}}`."""
    return "{{" + label + "}}"


@dataclass
class Provider:
    label: str
    name: str
    uuids: dict[str, str]  # side -> uuid (the same on both sides unless generated)
    generated: bool = False
    parent: str | None = None  # the parent's label
    generation: int = 0
    inventories: dict[str, dict[str, Any]] = field(default_factory=dict)  # class -> record
    traits: set[str] = field(default_factory=set)


@dataclass
class Consumer:
    uuid: str
    project: str
    user: str
    generation: int | None = None  # None: upstream keeps no record of this consumer
    allocations: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> amounts
    retired: bool = False  # named no more (see `strict`)

    @property
    def leftover(self) -> bool:
        """Upstream keeps it, empty, at generation 0 (see `strict`)."""
        return self.generation == 0 and not self.allocations


@dataclass
class World:
    """Everything the walk created, and the seeded source of every choice."""

    rng: random.Random
    # The reference server runs with --strict: it keeps no leftover consumers, so writes
    # that would touch providers steer clear of them (see `strict`).
    strict: bool = False
    providers: dict[str, Provider] = field(default_factory=dict)
    custom_classes: set[str] = field(default_factory=set)
    custom_traits: set[str] = field(default_factory=set)
    consumers: dict[str, Consumer] = field(default_factory=dict)
    projects: tuple[str, ...] = ("project-a", "project-b", "project-c")
    users: tuple[str, ...] = ("user-a", "user-b")
    deleted: list[Provider] = field(default_factory=list)  # providers that no longer exist
    _labels: int = 0

    # -- fresh names, all from the seed ---------------------------------------------------

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_label(self) -> str:
        self._labels += 1
        return f"rp{self._labels}"

    def new_class_name(self) -> str:
        kind = self.rng.choice(("GPU", "FPGA", "DISK", "NIC", "MAGIC"))
        return f"CUSTOM_{kind}_{self.rng.randrange(100)}"

    def new_trait_name(self) -> str:
        kind = self.rng.choice(("SSD", "FAST", "GOLD", "RACK"))
        return f"CUSTOM_{kind}_{self.rng.randrange(100)}"

    def new_consumer(self) -> Consumer:
        consumer = Consumer(self.new_uuid(), self.rng.choice(self.projects),
                            self.rng.choice(self.users))
        self.consumers[consumer.uuid] = consumer
        return consumer

    # -- picking what exists --------------------------------------------------------------

    def some_provider(self) -> Provider | None:
        return self.rng.choice(list(self.providers.values())) if self.providers else None

    def some_consumer(self, *, to_write: bool = False) -> Consumer | None:
        """A consumer still named; to write allocations for, in strict mode, not a leftover."""
        live = [consumer for consumer in self.consumers.values() if not consumer.retired
                and not (to_write and self.strict and consumer.leftover)]
        return self.rng.choice(live) if live else None

    def leftovers(self) -> list[Consumer]:
        return [consumer for consumer in self.consumers.values()
                if consumer.leftover and not consumer.retired]

    def classes(self) -> list[str]:
        return [*STANDARD_CLASSES, *sorted(self.custom_classes)]

    def children(self, label: str) -> list[Provider]:
        return [provider for provider in self.providers.values() if provider.parent == label]

    def descendants(self, label: str) -> list[Provider]:
        found = []
        for child in self.children(label):
            found += [child, *self.descendants(child.label)]
        return found

    def in_use(self, label: str) -> dict[str, int]:
        """What the consumers hold on a provider, by class."""
        used: dict[str, int] = {}
        for consumer in self.consumers.values():
            for resource_class, amount in consumer.allocations.get(label, {}).items():
                used[resource_class] = used.get(resource_class, 0) + amount
        return used

    # -- the uuid of a provider on each server --------------------------------------------

    def render(self, text: str, side: str) -> str:
        """A request's text with `{{label}}` replaced by the provider's uuid on `side`."""
        return _PLACEHOLDER.sub(lambda match: self.uuid_of(match.group(1), side), text)

    def uuid_of(self, label: str, side: str) -> str:
        for provider in (*self.providers.values(), *self.deleted):
            if provider.label == label:
                return provider.uuids.get(side, "00000000-0000-4000-8000-000000000000")
        raise KeyError(label)

    def generated_uuids(self, side: str) -> dict[str, str]:
        """uuid -> `<label>` for the providers `side` named itself."""
        return {provider.uuids[side]: f"<{provider.label}>"
                for provider in (*self.providers.values(), *self.deleted)
                if provider.generated and side in provider.uuids}

    def names_generated_provider(self, text: str | None) -> bool:
        """Whether `text` (a request's path or body, placeholders included) names a
        provider whose uuid each server chose itself."""
        return bool(text) and any(
            provider.generated and "{{%s}}" % provider.label in text
            for provider in (*self.providers.values(), *self.deleted))

    # -- what upstream's answers teach ----------------------------------------------------

    def add_provider(self, provider: Provider) -> None:
        self.providers[provider.label] = provider

    def remove_provider(self, label: str) -> None:
        self.deleted.append(self.providers.pop(label))

    def bump(self, labels: set[str]) -> None:
        for label in labels:
            if label in self.providers:
                self.providers[label].generation += 1

    def learn_generation(self, label: str, body: Any) -> None:
        """A body that states a provider's generation corrects the model's guess."""
        if label in self.providers and isinstance(body, dict):
            generation = body.get("resource_provider_generation", body.get("generation"))
            if isinstance(generation, int):
                self.providers[label].generation = generation

    def learn_consumer_generation(self, consumer: Consumer, body: Any) -> None:
        """A 409 'expected 3 but got None' names upstream's generation of the consumer."""
        for error in (body or {}).get("errors", []) if isinstance(body, dict) else []:
            match = _CONFLICT.search(str(error.get("detail", "")))
            if match:
                expected = match.group(1)
                consumer.generation = None if expected == "null" else int(expected)

    def record_allocations(self, consumer: Consumer,
                           allocations: dict[str, dict[str, int]]) -> set[str]:
        """A consumer's allocations after an accepted write; the providers it bumps.

        Upstream moves the generation of every provider named in the write; a write that
        empties the consumer names, and so moves, the providers it held. A consumer left
        with nothing is deleted, except one that held nothing before: upstream keeps that
        one, empty, at generation 0 (a new consumer written empty is such a leftover).
        """
        touched = set(allocations) if allocations else set(consumer.allocations)
        if allocations:
            consumer.generation = 1 if consumer.generation is None else consumer.generation + 1
        elif consumer.allocations:
            consumer.generation = None
        elif consumer.generation is None:
            consumer.generation = 0
        consumer.allocations = {label: dict(amounts) for label, amounts in allocations.items()}
        return touched

    def record_leftover(self, consumer: Consumer) -> None:
        """A write for a new consumer failed on an unknown provider: upstream keeps it."""
        if consumer.generation is None:
            consumer.generation = 0
