"""A scripted sequence of Placement requests, and a runner that records the answers.

The parity test (`test_upstream_parity.py`) sends this sequence to upstream
`openstack-placement==16.0.0` and to the reference server and compares what comes back.
This module holds the three pieces that comparison needs, as plain data and small
functions, so that a reader can see exactly what is sent and what is compared:

1. **The script.** `build_script(version, cast)` writes, for one microversion, every
   request of the sequence as a `Step`: the method, the path, the headers, the body, and
   the status upstream is expected to give (the script documents itself, and the test
   checks upstream still agrees, so a step meant to succeed cannot quietly turn into an
   error on both sides). Each microversion's sequence is self-contained: it works on its
   own providers, consumers, project and custom resource classes (the `Cast`), and it
   deletes them again at the end.
2. **The runner.** `run_script(script, base_url, make_client)` sends the steps in order
   and records each answer as an `Exchange`.
3. **The normalisation.** An `Exchange` keeps only what must be equal on both servers:
   the status, the headers of the contract (see `_normalise_headers`), whole success
   bodies, and the `status`, `title` and `code` of each error (the wording of `detail`
   may differ). Request ids and dates are dropped; the UUIDs of the cast are replaced by
   their labels (`<rp_a>`) so that reports read well, and UUIDs a server generated itself
   by `<generated-uuid>`.

Left out of the script on purpose: upstream's one known bug, which `--strict` does not
reproduce (a PUT or POST of allocations for a *new* consumer that fails because a
provider does not exist, or a PUT of `allocations: {}` for a new consumer, leaves an
empty consumer at generation 0 upstream). No step below depends on that outcome:
unknown providers are only ever named for consumers that already exist, and empty
allocations are only ever sent for consumers that exist.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

import httpx

from placement_spec import Microversion

ADMIN_TOKEN = "admin"
# noauth2 gives any other token no roles, so every policy check refuses it with 403.
VISITOR_TOKEN = "not-admin"

# The microversions the issue asks for: each one where the allocations contract changes.
MICROVERSIONS = ("1.0", "1.8", "1.12", "1.13", "1.23", "1.28", "1.34", "1.38", "1.39")
# Each one where the answer of GET /allocation_candidates changes: its first, the dict
# form, traits, granular groups, every class in summaries, nested trees, string
# suffixes, mappings, root_required, same_subtree, any-of traits.
CANDIDATE_MICROVERSIONS = ("1.10", "1.12", "1.17", "1.25", "1.27", "1.29", "1.33", "1.34",
                           "1.35", "1.36", "1.39")

# A marker for "not there": a step without a JSON body, or a body field left out on
# purpose. It is not JSON `null`, which is a value some fields take.
ABSENT = object()
DEFAULT_VERSION = object()  # a step sent at its script's microversion


# --------------------------------------------------------------------------------------
# The cast: who and what one microversion's sequence works on
# --------------------------------------------------------------------------------------

PROVIDERS = ("rp_a", "rp_b", "rp_c", "rp_child", "rp_missing", "rp_reshaped",
             # the allocation candidates' trees and store (`_allocation_candidates`)
             "cn1", "numa0", "numa1", "nic", "cn2", "store")
CONSUMERS = ("c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c_missing", "c_cand")
AGGREGATES = ("agg_1", "agg_2", "agg_share")


@dataclass(frozen=True)
class Cast:
    """The UUIDs and names of one microversion's sequence.

    The UUIDs are drawn once per test run and then sent, unchanged, to both servers: the
    same requests must reach both. Names carry the microversion, so that sequences for
    different microversions never meet in one database.
    """

    version: str
    run: str  # a short random tag, so that names never meet those of an earlier run
    uuids: dict[str, str]  # label -> uuid

    @classmethod
    def new(cls, version: str) -> Cast:
        return cls(version, uuid.uuid4().hex[:6].upper(),
                   {label: str(uuid.uuid4())
                    for label in PROVIDERS + CONSUMERS + AGGREGATES})

    def __getattr__(self, label: str) -> str:
        try:
            return self.uuids[label]
        except KeyError:
            raise AttributeError(label) from None

    def provider_name(self, label: str) -> str:
        return f"parity-{self.version}-{self.run}-{label}"

    def custom_class(self, letter: str) -> str:
        return f"CUSTOM_PARITY_{self.version.replace('.', '_')}_{self.run}_{letter}"

    # Custom traits and classes share the CUSTOM_ namespace but not a table.
    custom_trait = custom_class

    @property
    def project(self) -> str:
        return f"project-{self.version}"

    @property
    def user(self) -> str:
        return f"user-{self.version}"

    @property
    def other_user(self) -> str:
        return f"other-user-{self.version}"

    def labels(self) -> dict[str, str]:
        """uuid -> `<label>`, to make recorded answers readable and comparable."""
        return {value: f"<{label}>" for label, value in self.uuids.items()}


# --------------------------------------------------------------------------------------
# Steps, scripts and exchanges
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One request of the sequence, and the status upstream answers it with."""

    name: str
    method: str
    path: str
    expect: int
    version: str | None  # the `openstack-api-version` value; None sends no header
    token: str | None = ADMIN_TOKEN  # None sends no x-auth-token
    json: Any = ABSENT
    content: bytes | None = None  # a raw body, sent as is (for malformed requests)
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Script:
    """One microversion's sequence, with the cast it works on."""

    version: str
    cast: Cast
    steps: list[Step]


@dataclass(frozen=True)
class Exchange:
    """What a server answered to one step, normalised to what must be equal."""

    step: str
    request: str
    status: int
    headers: dict[str, str]
    body: Any

    def answer(self) -> tuple[int, dict[str, str], Any]:
        return self.status, self.headers, self.body


@dataclass(frozen=True)
class Difference:
    """One step whose answers differ, with both answers."""

    step: str
    request: str
    upstream: Exchange
    reference: Exchange

    def describe(self) -> str:
        lines = [f"- {self.step}: {self.request}"]
        for part in ("status", "headers", "body"):
            theirs, ours = getattr(self.upstream, part), getattr(self.reference, part)
            if part == "headers":
                for name in sorted(set(theirs) | set(ours)):
                    if theirs.get(name) != ours.get(name):
                        lines.append(f"    header {name}: upstream {theirs.get(name)!r}"
                                     f" | reference {ours.get(name)!r}")
            elif theirs != ours:
                lines.append(f"    {part}: upstream {_compact(theirs)}")
                lines.append(f"    {' ' * len(part)}  reference {_compact(ours)}")
        return "\n".join(lines)


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)


# --------------------------------------------------------------------------------------
# Writing a script
# --------------------------------------------------------------------------------------


@dataclass
class _Writer:
    """Writes one microversion's steps, and keeps the books a correct sequence needs.

    Resource provider generations and consumer generations must be sent right for a
    step to test what its name says, so the writer tracks them the way upstream does:
    every inventory write bumps its provider; an allocation write bumps each provider
    named in the request, or, when a consumer's allocations are emptied (`{}`), each
    provider it held (but a PUT that moves a consumer elsewhere does not bump the
    providers it leaves); a consumer is at generation 1 after its first write and goes
    away when its last allocation does.
    """

    version: Microversion
    cast: Cast
    steps: list[Step] = field(default_factory=list)
    provider_generation: dict[str, int] = field(default_factory=dict)
    consumer_generation: dict[str, int] = field(default_factory=dict)
    holdings: dict[str, set[str]] = field(default_factory=dict)  # consumer -> providers

    # -- asking about the microversion ---------------------------------------------------

    def since(self, version: str) -> bool:
        return self.version >= Microversion.parse(version)

    def before(self, version: str) -> bool:
        return not self.since(version)

    # -- adding steps --------------------------------------------------------------------

    def send(self, name: str, method: str, path: str, expect: int, *, json: Any = ABSENT,
             content: bytes | None = None, headers: dict[str, str] | None = None,
             token: str | None = ADMIN_TOKEN, version: Any = DEFAULT_VERSION) -> None:
        sent_version = str(self.version) if version is DEFAULT_VERSION else version
        self.steps.append(Step(name, method, path, expect, sent_version, token, json, content,
                               tuple((headers or {}).items())))

    def get(self, name: str, path: str, expect: int = 200, **options: Any) -> None:
        self.send(name, "GET", path, expect, **options)

    def put(self, name: str, path: str, expect: int, **options: Any) -> None:
        self.send(name, "PUT", path, expect, **options)

    def post(self, name: str, path: str, expect: int, **options: Any) -> None:
        self.send(name, "POST", path, expect, **options)

    def delete(self, name: str, path: str, expect: int = 204, **options: Any) -> None:
        self.send(name, "DELETE", path, expect, **options)

    # -- generations ---------------------------------------------------------------------

    def bump(self, *providers: str) -> None:
        for provider in set(providers):
            self.provider_generation[provider] = self.provider_generation.get(provider, 0) + 1

    def generation(self, provider: str) -> int:
        return self.provider_generation.get(provider, 0)

    def consumer_gen(self, consumer: str) -> int | None:
        return self.consumer_generation.get(consumer)

    def record_write(self, writes: dict[str, dict[str, dict[str, int]]]) -> None:
        """Book a successful allocation write of {consumer: {provider: resources}}."""
        touched: set[str] = set()
        for consumer, wanted in writes.items():
            touched |= set(wanted) if wanted else self.holdings.get(consumer, set())
            if wanted:
                self.holdings[consumer] = set(wanted)
                self.consumer_generation[consumer] = self.consumer_generation.get(consumer, 0) + 1
            else:
                self.forget(consumer)
        self.bump(*touched)

    def forget(self, consumer: str) -> None:
        """The consumer and its allocations are gone (DELETE does not bump providers)."""
        self.holdings.pop(consumer, None)
        self.consumer_generation.pop(consumer, None)

    # -- allocation bodies ---------------------------------------------------------------

    def consumer_fields(self, consumer: str) -> dict[str, Any]:
        """project, user, generation and type, as far as this microversion knows them."""
        fields: dict[str, Any] = {}
        if self.since("1.8"):
            fields.update(project_id=self.cast.project, user_id=self.cast.user)
        if self.since("1.28"):
            fields["consumer_generation"] = self.consumer_gen(consumer)
        if self.since("1.38"):
            fields["consumer_type"] = "INSTANCE"
        return fields

    def in_this_form(self, wanted: dict[str, dict[str, int]]) -> Any:
        """{provider: resources} in this microversion's form: a list before 1.12."""
        if self.before("1.12"):
            return [{"resource_provider": {"uuid": provider}, "resources": resources}
                    for provider, resources in wanted.items()]
        return {provider: {"resources": resources} for provider, resources in wanted.items()}

    def allocation_body(self, consumer: str, wanted: dict[str, dict[str, int]],
                        **fields: Any) -> dict[str, Any]:
        """The body that gives ``consumer`` the ``wanted`` {provider: resources}.

        ``fields`` override or add keys (to break the body on purpose); a field set to
        ABSENT is left out.
        """
        body = {"allocations": self.in_this_form(wanted), **self.consumer_fields(consumer)}
        body.update(fields)
        return {key: value for key, value in body.items() if value is not ABSENT}

    def claim(self, name: str, consumer: str, wanted: dict[str, dict[str, int]],
              expect: int = 204, **fields: Any) -> None:
        """PUT /allocations/{consumer}; books the write when it is meant to succeed."""
        body = self.allocation_body(consumer, wanted, **fields)
        self.put(name, f"/allocations/{consumer}", expect, json=body)
        if expect == 204:
            self.record_write({consumer: wanted})

    def claim_many(self, name: str, writes: dict[str, dict[str, dict[str, int]]],
                   expect: int = 204, **fields: Any) -> None:
        """POST /allocations for several consumers at once."""
        body = {consumer: self.allocation_body(consumer, wanted, **fields)
                for consumer, wanted in writes.items()}
        self.post(name, "/allocations", expect, json=body)
        if expect == 204:
            self.record_write(writes)


    def reshaper_body(self, inventories: dict[str, dict[str, Any]],
                      writes: dict[str, dict[str, dict[str, int]]], **fields: Any) -> dict:
        """The POST /reshaper body giving each provider its whole ``inventories`` (at the
        generation booked for it) and each consumer its ``writes``; ``fields`` as for
        ``allocation_body``."""
        return {
            "inventories": {provider: {"resource_provider_generation": self.generation(provider),
                                       "inventories": records}
                            for provider, records in inventories.items()},
            "allocations": {consumer: self.allocation_body(consumer, wanted, **fields)
                            for consumer, wanted in writes.items()},
        }

    def reshape(self, name: str, inventories: dict[str, dict[str, Any]],
                writes: dict[str, dict[str, dict[str, int]]], expect: int = 204,
                **fields: Any) -> None:
        """POST /reshaper; books the reshape when it is meant to succeed. Upstream moves
        each provider of ``inventories`` twice, around the allocation write: once for
        its new inventories on top of its old (skipped when the new ones are empty),
        once for the new ones alone."""
        self.post(name, "/reshaper", expect, json=self.reshaper_body(inventories, writes, **fields))
        if expect == 204:
            self.bump(*[provider for provider, records in inventories.items() if records])
            self.record_write(writes)
            self.bump(*inventories)


def build_script(version: str, cast: Cast) -> Script:
    """The whole sequence for one microversion, section by section."""
    writer = _Writer(Microversion.parse(version), cast)
    if version == MICROVERSIONS[0]:
        _microversion_negotiation(writer)
    _service_and_protocol(writer)
    _resource_classes(writer)
    _resource_providers(writer)
    _inventories(writer)
    _traits(writer)
    _aggregates(writer)
    _provider_filters(writer)
    _allocations_by_put(writer)
    _allocations_by_post(writer)
    _reshaper(writer)
    _usages(writer)
    _allocation_candidates(writer)
    _in_use_and_cleanup(writer)
    return Script(version, cast, writer.steps)


def build_candidates_script(version: str, cast: Cast) -> Script:
    """The allocation candidates' section alone, for the microversions where only their
    answer changes."""
    writer = _Writer(Microversion.parse(version), cast)
    _allocation_candidates(writer)
    return Script(version, cast, writer.steps)


# --------------------------------------------------------------------------------------
# The sections of the sequence
# --------------------------------------------------------------------------------------


def _microversion_negotiation(w: _Writer) -> None:
    """Version headers themselves; independent of the microversion, so sent once."""
    w.get("root without a version header means 1.0", "/", token=None, version=None)
    w.get("latest is 1.39", "/", version="placement latest")
    for bad, status in (("0.5", 406), ("1.40", 406), ("pony.horse", 400), ("1.2.3", 400)):
        w.get(f"microversion {bad}", "/resource_providers", status, version=f"placement {bad}")


def _service_and_protocol(w: _Writer) -> None:
    """What every request goes through: tokens, routing, content types, Accept."""
    c = w.cast
    w.get("root needs no token", "/", token=None)
    w.get("no token is 401", "/resource_providers", 401, token=None)
    w.get("no token is 401 even on an unknown path", "/nowhere", 401, token=None)
    w.get("unknown path", "/nowhere", 404)
    w.get("non-admin token is 403 on providers", "/resource_providers", 403, token=VISITOR_TOKEN)
    w.get("non-admin token is 403 on allocations", f"/allocations/{c.c1}", 403,
          token=VISITOR_TOKEN)
    w.put("non-admin token is 403 on PUT allocations", f"/allocations/{c.c1}", 403,
          token=VISITOR_TOKEN, json=w.allocation_body(c.c1, {c.rp_a: {"VCPU": 1}}))
    w.post("405 names the allowed methods of /allocations/{c}", f"/allocations/{c.c1}", 405,
           json={})
    w.get("405 for GET /allocations", "/allocations", 405)
    w.send("405 for PATCH on a provider", "PATCH", f"/resource_providers/{c.rp_a}", 405,
           json={})
    w.put("415 for a text/plain body", f"/allocations/{c.c1}", 415, content=b"{}",
          headers={"content-type": "text/plain"})
    w.put("415 comes before 403", f"/allocations/{c.c1}", 415, content=b"{}",
          headers={"content-type": "text/plain"}, token=VISITOR_TOKEN)
    w.put("415 with no content type and no body", f"/allocations/{c.c1}", 415, content=b"")
    w.put("a body without a content type is 400", f"/allocations/{c.c1}", 400, content=b"{}")
    w.post("charset parameter is accepted (schema 400 follows)", "/resource_providers", 400,
           content=b"{}", headers={"content-type": "application/json; charset=utf-8"})
    w.put("malformed JSON", f"/allocations/{c.c1}", 400, content=b'{"allocations": ',
          headers={"content-type": "application/json"})
    w.get("Accept without JSON is 406", "/resource_providers", 406,
          headers={"accept": "text/plain"})


def _resource_classes(w: _Writer) -> None:
    """/resource_classes (1.2+; bodiless create-or-verify PUT from 1.7)."""
    c = w.cast
    a, b = c.custom_class("A"), c.custom_class("B")
    if w.before("1.2"):
        w.get("resource classes are 404 before 1.2", "/resource_classes", 404)
        w.post("creating a resource class is 404 before 1.2", "/resource_classes", 404,
               json={"name": a})
        w.get("a resource class is 404 before 1.2", "/resource_classes/VCPU", 404)
        return
    w.post("create custom class A", "/resource_classes", 201, json={"name": a})
    w.post("create class A again", "/resource_classes", 409, json={"name": a})
    w.post("create a class without CUSTOM_", "/resource_classes", 400, json={"name": "COWS"})
    w.post("create a class with no name", "/resource_classes", 400, json={})
    w.put("PUT creates custom class B", f"/resource_classes/{b}", 201)
    w.put("PUT of an existing class", f"/resource_classes/{b}", 204)
    w.put("PUT of a standard class name", "/resource_classes/VCPU", 400)
    w.get("list resource classes", "/resource_classes")
    w.get("show custom class A", f"/resource_classes/{a}")
    w.get("show a standard class", "/resource_classes/VCPU")
    w.get("show an unknown class", f"/resource_classes/{c.custom_class('NOPE')}", 404)
    w.delete("delete a standard class", "/resource_classes/VCPU", 400)
    w.delete("delete an unknown class", f"/resource_classes/{c.custom_class('NOPE')}", 404)
    w.delete("delete custom class B", f"/resource_classes/{b}")
    w.get("custom class B is gone", f"/resource_classes/{b}", 404)


def _resource_providers(w: _Writer) -> None:
    """/resource_providers and /resource_providers/{uuid}."""
    c = w.cast
    created = 200 if w.since("1.20") else 201
    for label in ("rp_a", "rp_b", "rp_c"):
        w.post(f"create provider {label}", "/resource_providers", created,
               json={"name": c.provider_name(label), "uuid": getattr(c, label)})
    w.post("create a provider with a generated uuid", "/resource_providers", created,
           json={"name": c.provider_name("generated")})
    if w.since("1.14"):
        w.post("create a child of rp_a", "/resource_providers", created,
               json={"name": c.provider_name("rp_child"), "uuid": c.rp_child,
                     "parent_provider_uuid": c.rp_a})
        w.post("create a child of a missing parent", "/resource_providers", 400,
               json={"name": c.provider_name("orphan"), "parent_provider_uuid": c.rp_missing})
    w.post("duplicate provider name", "/resource_providers", 409,
           json={"name": c.provider_name("rp_a"), "uuid": c.rp_missing})
    w.post("duplicate provider uuid", "/resource_providers", 409,
           json={"name": c.provider_name("rp_missing"), "uuid": c.rp_a})
    w.post("provider without a name", "/resource_providers", 400, json={"uuid": c.rp_missing})
    w.post("provider with an unknown key", "/resource_providers", 400,
           json={"name": c.provider_name("rp_missing"), "colour": "blue"})
    w.get("show rp_a", f"/resource_providers/{c.rp_a}")
    w.get("show a missing provider", f"/resource_providers/{c.rp_missing}", 404)
    w.get("list providers by name", f"/resource_providers?name={c.provider_name('rp_a')}")
    w.get("list the generated provider by name",
          f"/resource_providers?name={c.provider_name('generated')}")
    w.get("list providers by uuid", f"/resource_providers?uuid={c.rp_b}")
    w.get("list by an unknown uuid", f"/resource_providers?uuid={c.rp_missing}")
    w.get("list with an unknown filter", "/resource_providers?colour=blue", 400)
    if w.since("1.14"):
        w.get("list the tree of rp_a", f"/resource_providers?in_tree={c.rp_a}")
    w.put("rename rp_c", f"/resource_providers/{c.rp_c}", 200,
          json={"name": c.provider_name("rp_c-renamed")})
    w.put("rename rp_c to the name of rp_a", f"/resource_providers/{c.rp_c}", 409,
          json={"name": c.provider_name("rp_a")})
    w.put("rename rp_c without a name", f"/resource_providers/{c.rp_c}", 400, json={})
    w.put("rename a missing provider", f"/resource_providers/{c.rp_missing}", 404,
          json={"name": c.provider_name("rp_missing")})
    w.delete("delete rp_c", f"/resource_providers/{c.rp_c}")
    w.delete("delete rp_c again", f"/resource_providers/{c.rp_c}", 404)
    w.get("rp_c is gone", f"/resource_providers/{c.rp_c}", 404)


def _inventories(w: _Writer) -> None:
    """The inventories of rp_a and rp_b, through every inventory endpoint.

    rp_b's inventory is shaped for the allocation sections: VCPU has max_unit 2,
    MEMORY_MB a step of 256, and DISK_GB a capacity of (10 - 3) * 0.5 = 3.5.
    """
    c = w.cast
    rp_a, rp_b = c.rp_a, c.rp_b
    inventories_a = {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 2048}}
    if w.since("1.2"):
        inventories_a[c.custom_class("A")] = {"total": 4}
    w.put("set inventories of rp_a", f"/resource_providers/{rp_a}/inventories", 200,
          json={"resource_provider_generation": 0, "inventories": inventories_a})
    w.bump(rp_a)
    w.put("set inventories with a stale generation", f"/resource_providers/{rp_a}/inventories",
          409, json={"resource_provider_generation": 0, "inventories": inventories_a})
    w.put("set inventories with an unknown class", f"/resource_providers/{rp_a}/inventories",
          400, json={"resource_provider_generation": w.generation(rp_a),
                     "inventories": {"COWS": {"total": 1}}})
    w.put("set inventories without a generation", f"/resource_providers/{rp_a}/inventories",
          400, json={"inventories": inventories_a})
    w.put("set inventories with total 0", f"/resource_providers/{rp_a}/inventories", 400,
          json={"resource_provider_generation": w.generation(rp_a),
                "inventories": {"VCPU": {"total": 0}}})
    w.put("set inventories of a missing provider",
          f"/resource_providers/{c.rp_missing}/inventories", 404,
          json={"resource_provider_generation": 0, "inventories": inventories_a})
    w.get("show inventories of rp_a", f"/resource_providers/{rp_a}/inventories")
    w.get("inventories of a missing provider", f"/resource_providers/{c.rp_missing}/inventories",
          404)

    w.post("add DISK_GB to rp_a", f"/resource_providers/{rp_a}/inventories", 201,
           json={"resource_class": "DISK_GB", "total": 100, "reserved": 10})
    w.bump(rp_a)
    w.post("add DISK_GB again", f"/resource_providers/{rp_a}/inventories", 409,
           json={"resource_class": "DISK_GB", "total": 100})
    w.post("add an inventory without a total", f"/resource_providers/{rp_a}/inventories", 400,
           json={"resource_class": "PCI_DEVICE"})
    w.post("add an inventory of an unknown class", f"/resource_providers/{rp_a}/inventories",
           400, json={"resource_class": "COWS", "total": 1})
    w.post("add an inventory to a missing provider",
           f"/resource_providers/{c.rp_missing}/inventories", 404,
           json={"resource_class": "DISK_GB", "total": 1})
    w.get("show DISK_GB of rp_a", f"/resource_providers/{rp_a}/inventories/DISK_GB")
    w.get("show a class rp_a has no inventory of",
          f"/resource_providers/{rp_a}/inventories/PCI_DEVICE", 404)
    w.get("show an inventory of a missing provider",
          f"/resource_providers/{c.rp_missing}/inventories/DISK_GB", 404)
    w.put("update DISK_GB of rp_a", f"/resource_providers/{rp_a}/inventories/DISK_GB", 200,
          json={"resource_provider_generation": w.generation(rp_a), "total": 200})
    w.bump(rp_a)
    w.put("update DISK_GB with a stale generation",
          f"/resource_providers/{rp_a}/inventories/DISK_GB", 409,
          json={"resource_provider_generation": 0, "total": 300})
    w.put("update a class rp_a has no inventory of",
          f"/resource_providers/{rp_a}/inventories/PCI_DEVICE", 400,
          json={"resource_provider_generation": w.generation(rp_a), "total": 1})
    w.put("update DISK_GB without a total", f"/resource_providers/{rp_a}/inventories/DISK_GB",
          400, json={"resource_provider_generation": w.generation(rp_a)})
    w.delete("delete DISK_GB of rp_a", f"/resource_providers/{rp_a}/inventories/DISK_GB")
    w.bump(rp_a)
    w.delete("delete DISK_GB of rp_a again", f"/resource_providers/{rp_a}/inventories/DISK_GB",
             404)
    w.delete("delete an inventory of a missing provider",
             f"/resource_providers/{c.rp_missing}/inventories/DISK_GB", 404)

    w.put("set inventories of rp_b", f"/resource_providers/{rp_b}/inventories", 200,
          json={"resource_provider_generation": 0, "inventories": {
              "VCPU": {"total": 4, "max_unit": 2},
              "MEMORY_MB": {"total": 1024, "step_size": 256},
              "DISK_GB": {"total": 10, "reserved": 3, "allocation_ratio": 0.5}}})
    w.bump(rp_b)
    if w.since("1.4"):
        w.get("list providers with room for 3 VCPU",
              f"/resource_providers?resources=VCPU:3&name={c.provider_name('rp_a')}")
        w.get("list providers with a bad resources filter",
              "/resource_providers?resources=VCPU", 400)
    w.get("show rp_b after its inventory", f"/resource_providers/{rp_b}")
    w.get("usages of rp_b before any allocation", f"/resource_providers/{rp_b}/usages")


def _traits(w: _Writer) -> None:
    """/traits and a provider's traits (1.6+), on rp_a; every trait made here is removed."""
    c = w.cast
    a, b = c.custom_trait("A"), c.custom_trait("B")
    rp_traits = f"/resource_providers/{c.rp_a}/traits"
    if w.before("1.6"):
        w.get("traits are 404 before 1.6", "/traits", 404)
        w.put("creating a trait is 404 before 1.6", f"/traits/{a}", 404)
        w.get("a provider's traits are 404 before 1.6", rp_traits, 404)
        return
    w.put("create custom trait A", f"/traits/{a}", 201)
    w.put("create custom trait A again", f"/traits/{a}", 204)
    w.put("create custom trait B", f"/traits/{b}", 201)
    w.put("create a trait without CUSTOM_", "/traits/NOT_CUSTOM", 400)
    w.get("show custom trait A", f"/traits/{a}", 204)
    w.get("show a standard trait", "/traits/HW_CPU_X86_AVX2", 204)
    w.get("show an unknown trait", f"/traits/{c.custom_trait('NOPE')}", 404)
    prefix = a[:-1]
    w.get("list the run's traits", f"/traits?name=startswith:{prefix}")
    w.get("list traits by name", f"/traits?name=in:{a},HW_CPU_X86_AVX2")
    w.get("list with a malformed name filter", "/traits?name=A", 400)
    w.get("rp_a has no traits", rp_traits)
    w.put("set traits of rp_a", rp_traits, 200,
          json={"resource_provider_generation": w.generation(c.rp_a), "traits": [a, b]})
    w.bump(c.rp_a)
    w.put("set traits of rp_a with a stale generation", rp_traits, 409,
          json={"resource_provider_generation": w.generation(c.rp_a) - 1, "traits": [a]})
    w.put("set an unknown trait on rp_a", rp_traits, 400,
          json={"resource_provider_generation": w.generation(c.rp_a),
                "traits": [c.custom_trait("NOPE")]})
    w.put("set traits of rp_a without a generation", rp_traits, 400, json={"traits": [a]})
    w.put("set traits of a missing provider", f"/resource_providers/{c.rp_missing}/traits",
          404, json={"resource_provider_generation": 0, "traits": [a]})
    w.get("rp_a has traits A and B", rp_traits)
    w.get("the associated traits", f"/traits?name=startswith:{prefix}&associated=true")
    w.delete("delete trait A while rp_a has it", f"/traits/{a}", 409)
    w.delete("delete a standard trait", "/traits/HW_CPU_X86_AVX2", 400)
    w.delete("delete an unknown trait", f"/traits/{c.custom_trait('NOPE')}", 404)
    w.delete("remove the traits of rp_a", rp_traits)
    w.bump(c.rp_a)
    w.get("rp_a has no traits left", rp_traits)
    w.delete("delete custom trait A", f"/traits/{a}")
    w.delete("delete custom trait B", f"/traits/{b}")
    w.get("custom trait A is gone", f"/traits/{a}", 404)


def _aggregates(w: _Writer) -> None:
    """A provider's aggregates (1.1+): a bare list before 1.19, with the generation after."""
    c = w.cast
    path = f"/resource_providers/{c.rp_b}/aggregates"
    if w.before("1.1"):
        w.get("aggregates are 404 before 1.1", path, 404)
        # Upstream checks the media types of this path before its microversion.
        w.get("an Accept without JSON is 406 before 1.1 too", path, 406,
              headers={"accept": "text/plain"})
        w.put("a text/plain body is 415 before 1.1 too", path, 415, content=b"[]",
              headers={"content-type": "text/plain"})
        w.put("a JSON body is 404 before 1.1", path, 404, json=[])
        return
    w.get("rp_b is in no aggregate", path)
    wanted = [c.agg_1, c.agg_2]
    if w.before("1.19"):
        w.put("put rp_b in two aggregates", path, 200, json=wanted)
        w.put("aggregates that are not uuids", path, 400, json=["not-a-uuid"])
    else:
        w.put("put rp_b in two aggregates", path, 200,
              json={"aggregates": wanted, "resource_provider_generation": w.generation(c.rp_b)})
        w.bump(c.rp_b)
        w.put("aggregates with a stale generation", path, 409,
              json={"aggregates": [c.agg_1],
                    "resource_provider_generation": w.generation(c.rp_b) - 1})
        w.put("aggregates in the bare list form", path, 400, json=wanted)
    w.put("aggregates of a missing provider", f"/resource_providers/{c.rp_missing}/aggregates",
          404, json=wanted if w.before("1.19") else
          {"aggregates": wanted, "resource_provider_generation": 0})
    w.get("rp_b is in two aggregates", path)


def _provider_filters(w: _Writer) -> None:
    """`member_of` (1.3+) and `required` (1.18+) of GET /resource_providers, on rp_b's
    two aggregates and a trait F given to rp_a, which is removed again. Each form is
    sent at the script's microversion, on whichever side of its change that is; the one
    change no script stands before (`!` in `required`, 1.22) is also sent at 1.21."""
    c = w.cast

    def listing(name: str, query: str, expect: int = 200, **options: Any) -> None:
        w.get(name, f"/resource_providers?{query}", expect, **options)

    def from_(version: str) -> int:
        return 200 if w.since(version) else 400

    one, either = c.agg_1, f"in:{c.agg_1},{c.agg_2}"
    listing("providers in aggregate 1", f"member_of={one}", from_("1.3"))
    if w.before("1.3"):
        return
    listing("providers in either aggregate", f"member_of={either}")
    listing("providers in an aggregate nobody is in", f"member_of={c.rp_missing}")
    listing("member_of listing two without in:", f"member_of={c.agg_1},{c.agg_2}", 400)
    listing("member_of naming no uuid", "member_of=in:not-a-uuid", 400)
    listing("two member_of", f"member_of={either}&member_of={c.agg_2}", from_("1.24"))
    listing("a forbidden aggregate", f"member_of=!{one}", from_("1.32"))
    listing("forbidden aggregates in a list", f"member_of=!{either}", from_("1.32"))
    listing("a forbidden mark inside in:", f"member_of=in:{one},!{c.agg_2}", 400)
    listing("providers with a standard trait", "required=HW_CPU_X86_AVX2", from_("1.18"))
    if w.before("1.18"):
        return
    f, unknown = c.custom_trait("F"), c.custom_trait("NOPE")
    rp_traits = f"/resource_providers/{c.rp_a}/traits"
    w.put("create trait F", f"/traits/{f}", 201)
    w.put("give rp_a trait F", rp_traits, 200,
          json={"resource_provider_generation": w.generation(c.rp_a), "traits": [f]})
    w.bump(c.rp_a)
    listing("providers with trait F", f"required={f}")
    listing("providers with trait F and a standard trait", f"required={f},HW_CPU_X86_AVX2")
    listing("required naming an unknown trait", f"required={unknown}", 400)
    listing("required with an empty trait", f"required={f},", 400)
    listing("a forbidden trait", f"required=!{f}", from_("1.22"))
    if w.before("1.22"):
        listing("a forbidden trait at 1.21", f"required=!{f}", 400, version="1.21")
    listing("an unknown forbidden trait", f"required={f},!{unknown}", 400)
    listing("any of two traits", f"required=in:{f},HW_CPU_X86_AVX2", from_("1.39"))
    listing("two required", f"required=HW_CPU_X86_AVX2&required={f}")
    listing("trait F and aggregate 1", f"required={f}&member_of={one}")
    listing("an unknown trait in a tree that does not exist",
            f"in_tree={c.rp_missing}&required={unknown}")
    listing("an unknown class where no provider has the trait",
            f"required=HW_CPU_X86_AVX2&resources={unknown}:1")
    listing("an unknown class where a provider has the trait",
            f"required={f}&resources={unknown}:1", 400)
    w.delete("take trait F from rp_a", rp_traits)
    w.bump(c.rp_a)
    w.delete("delete trait F", f"/traits/{f}")


def _allocation_candidates(w: _Writer) -> None:
    """GET /allocation_candidates (1.10+) on two compute trees and a sharing store, each
    query form sent at the script's microversion, on whichever side of its change that
    is (400 before it). Only the section's own classes are asked for, so the providers
    of other sections never answer.

        cn1 (root, MEM 2048, aggregate agg_share)
          numa0 (CPU 4, trait TA)
          numa1 (CPU 4, trait TB)
            nic (NET 2, trait TA)
        cn2 (root, CPU 8, MEM 2048, trait TB; c_cand uses CPU 2)
        store (root, DISK 100, MISC_SHARES_VIA_AGGREGATE, aggregate agg_share)
    """
    if w.before("1.10"):
        w.get("allocation candidates are 404 before 1.10",
              "/allocation_candidates?resources=VCPU:1", 404)
        return
    c = w.cast
    classes = {label: c.custom_class(label) for label in ("CPU", "MEM", "NET", "DISK")}
    traits = {label: c.custom_trait(label) for label in ("TA", "TB")}
    cpu, mem, net, disk = classes.values()
    ta, tb = traits.values()
    _build_candidate_world(w, classes, traits)

    def ask(name: str, query: str, since: str = "1.10") -> None:
        w.get(name, f"/allocation_candidates?{query}", 200 if w.since(since) else 400)

    def refused(name: str, query: str) -> None:
        w.get(name, f"/allocation_candidates?{query}", 400)

    ask("one class, from any provider of any tree", f"resources={cpu}:1")
    ask("two classes, from a root and its child", f"resources={cpu}:1,{mem}:512")
    ask("a class only the store has, with one of the trees", f"resources={cpu}:1,{disk}:20")
    ask("the store alone", f"resources={disk}:5")
    ask("more than any provider has free", f"resources={cpu}:7")
    refused("an unknown class", f"resources={c.custom_class('NOPE')}:1")
    refused("no resources", "limit=1")
    ask("a limit above the number of candidates", f"resources={cpu}:1&limit=10", "1.16")
    ask("a required trait served by the nic", f"resources={cpu}:1,{net}:1&required={ta}",
        "1.17")
    ask("an aggregate", f"resources={cpu}:1,{disk}:20&member_of={c.agg_share}", "1.21")
    ask("a forbidden trait", f"resources={cpu}:1,{mem}:512&required=!{tb}", "1.22")
    ask("two granular groups kept apart",
        f"resources1={cpu}:1&resources2={cpu}:1&group_policy=isolate", "1.25")
    ask("two granular groups that may share",
        f"resources1={cpu}:1&resources2={cpu}:1&group_policy=none", "1.25")
    ask("a granular group beside the unsuffixed one",
        f"resources={mem}:512&resources1={cpu}:1&required1={tb}", "1.25")
    ask("a granular group served by the store", f"resources={cpu}:1&resources1={disk}:20",
        "1.25")
    refused("two granular groups without group_policy", f"resources1={cpu}:1&resources2={cpu}:1")
    ask("the tree of the nic", f"resources={cpu}:1&in_tree={c.nic}", "1.31")
    ask("groups with word suffixes",
        f"resources_CPU={cpu}:1&resources_NET={net}:1&group_policy=none", "1.33")
    ask("a trait of the root", f"resources={cpu}:1&root_required={tb}", "1.35")
    ask("a forbidden trait of the root", f"resources={cpu}:1&root_required=!{tb}", "1.35")
    ask("groups in one subtree",
        f"resources_CPU={cpu}:1&resources_NET={net}:1&required_NET={ta}"
        f"&group_policy=none&same_subtree=_CPU,_NET", "1.36")
    ask("a resourceless group in one subtree",
        f"required_NUMA={tb}&resources_NET={net}:1&group_policy=none&same_subtree=_NUMA,_NET",
        "1.36")
    ask("any of two traits", f"resources={cpu}:1&required=in:{ta},{tb}", "1.39")
    _remove_candidate_world(w, classes, traits)


# The microversion the candidates' world is built and removed at, whatever the script's:
# it needs trees (1.14) and answers 200 to a new provider (1.20).
WORLD_VERSION = "1.39"
# Each provider of that world: its parent, inventories, traits and aggregates, by label
# (classes and traits by their labels in `_allocation_candidates`, or standard names).
CANDIDATE_WORLD = {
    "cn1": (None, {"MEM": 2048}, (), ("agg_share",)),
    "numa0": ("cn1", {"CPU": 4}, ("TA",), ()),
    "numa1": ("cn1", {"CPU": 4}, ("TB",), ()),
    "nic": ("numa1", {"NET": 2}, ("TA",), ()),
    "cn2": (None, {"CPU": 8, "MEM": 2048}, ("TB",), ()),
    "store": (None, {"DISK": 100}, ("MISC_SHARES_VIA_AGGREGATE",), ("agg_share",)),
}


def _build_candidate_world(w: _Writer, classes: dict[str, str], traits: dict[str, str]) -> None:
    """Build the trees and the store of `CANDIDATE_WORLD`, and c_cand's usage on cn2."""
    c = w.cast
    for label, name in classes.items():
        w.put(f"create class {label}", f"/resource_classes/{name}", 201, version=WORLD_VERSION)
    for label, name in traits.items():
        w.put(f"create trait {label}", f"/traits/{name}", 201, version=WORLD_VERSION)
    for label, (parent, inventories, provider_traits, aggregates) in CANDIDATE_WORLD.items():
        provider = c.uuids[label]
        body = {"name": c.provider_name(label), "uuid": provider}
        if parent:
            body["parent_provider_uuid"] = c.uuids[parent]
        w.post(f"create {label}", "/resource_providers", 200, json=body, version=WORLD_VERSION)
        w.put(f"inventories of {label}", f"/resource_providers/{provider}/inventories", 200,
              json={"resource_provider_generation": w.generation(provider),
                    "inventories": {classes[name]: {"total": total}
                                    for name, total in inventories.items()}},
              version=WORLD_VERSION)
        w.bump(provider)
        # Each write below moves the provider's generation; setting none would not.
        if provider_traits:
            w.put(f"traits of {label}", f"/resource_providers/{provider}/traits", 200,
                  json={"resource_provider_generation": w.generation(provider),
                        "traits": [traits.get(name, name) for name in provider_traits]},
                  version=WORLD_VERSION)
            w.bump(provider)
        if aggregates:
            w.put(f"aggregates of {label}", f"/resource_providers/{provider}/aggregates", 200,
                  json={"resource_provider_generation": w.generation(provider),
                        "aggregates": [c.uuids[name] for name in aggregates]},
                  version=WORLD_VERSION)
            w.bump(provider)
    w.put("c_cand uses 2 CPU of cn2", f"/allocations/{c.c_cand}", 204,
          json={"allocations": {c.cn2: {"resources": {classes["CPU"]: 2}}},
                "project_id": c.project, "user_id": c.user, "consumer_generation": None,
                "consumer_type": "INSTANCE"},
          version=WORLD_VERSION)
    w.bump(c.cn2)


def _remove_candidate_world(w: _Writer, classes: dict[str, str], traits: dict[str, str]
                            ) -> None:
    """Remove what `_build_candidate_world` built, children before parents."""
    c = w.cast
    w.delete("release c_cand", f"/allocations/{c.c_cand}", version=WORLD_VERSION)
    for label in reversed(CANDIDATE_WORLD):
        w.delete(f"delete {label}", f"/resource_providers/{c.uuids[label]}",
                 version=WORLD_VERSION)
    for label, name in classes.items():
        w.delete(f"delete class {label}", f"/resource_classes/{name}", version=WORLD_VERSION)
    for label, name in traits.items():
        w.delete(f"delete trait {label}", f"/traits/{name}", version=WORLD_VERSION)


def _allocations_by_put(w: _Writer) -> None:
    """PUT, GET and DELETE /allocations/{consumer}, in this microversion's body form."""
    c = w.cast
    rp_a, rp_b = c.rp_a, c.rp_b

    w.get("allocations of an unknown consumer", f"/allocations/{c.c_missing}")
    w.claim("claim VCPU and memory on rp_a for c1", c.c1, {rp_a: {"VCPU": 2, "MEMORY_MB": 512}})
    w.get("allocations of c1", f"/allocations/{c.c1}")
    w.get("allocations on rp_a", f"/resource_providers/{rp_a}/allocations")
    w.get("usages of rp_a", f"/resource_providers/{rp_a}/usages")
    w.claim("PUT replaces: c1 moves to rp_b", c.c1, {rp_b: {"VCPU": 1, "DISK_GB": 3}})
    w.get("c1 holds only rp_b now", f"/allocations/{c.c1}")
    w.get("rp_a has no allocations left", f"/resource_providers/{rp_a}/allocations")
    w.get("allocations on rp_b", f"/resource_providers/{rp_b}/allocations")
    w.get("usages of rp_a after the move", f"/resource_providers/{rp_a}/usages")
    w.get("usages of rp_b after the move", f"/resource_providers/{rp_b}/usages")
    w.get("allocations of a missing provider",
          f"/resource_providers/{c.rp_missing}/allocations", 404)
    w.get("usages of a missing provider", f"/resource_providers/{c.rp_missing}/usages", 404)

    # Failures, each on the existing consumer c1, which keeps its allocations.
    w.claim("an unknown provider (existing consumer)", c.c1, {c.rp_missing: {"VCPU": 1}}, 400)
    w.claim("an unknown resource class", c.c1, {rp_a: {"COWS": 1}}, 400)
    w.claim("a class the provider has no inventory of", c.c1, {rp_a: {"PCI_DEVICE": 1}}, 409)
    w.claim("beyond the fractional capacity 3.5", c.c1, {rp_b: {"DISK_GB": 4}}, 409)
    w.claim("above max_unit", c.c1, {rp_b: {"VCPU": 3}}, 409)
    w.claim("off the step size", c.c1, {rp_b: {"MEMORY_MB": 100}}, 409)
    w.claim("an amount of 0", c.c1, {rp_b: {"VCPU": 0}}, 400)
    w.claim("a lowercase resource class", c.c1, {rp_b: {"vcpu": 1}}, 400)
    w.claim("no resources", c.c1, {rp_b: {}}, 400)
    w.put("a malformed consumer uuid", "/allocations/not-a-uuid", 400,
          json=w.allocation_body(c.c1, {rp_a: {"VCPU": 1}}))
    w.put("no allocations key", f"/allocations/{c.c1}", 400,
          json={key: value for key, value in w.allocation_body(c.c1, {rp_a: {"VCPU": 1}}).items()
                if key != "allocations"})
    w.claim("an unknown key in the body", c.c1, {rp_a: {"VCPU": 1}}, 400, colour="blue")
    w.get("c1 is unchanged by the failures", f"/allocations/{c.c1}")

    # A new consumer whose write fails on capacity leaves nothing behind.
    w.claim("a new consumer c2 beyond capacity", c.c2, {rp_a: {"VCPU": 9}}, 409)
    w.get("c2 has nothing after the failure", f"/allocations/{c.c2}")
    w.claim("c2 claims within capacity", c.c2, {rp_a: {"VCPU": 2}})

    _body_versions_of_put(w)

    # The consumer uuid of a PUT is normalised (dashless, upper case); GET and DELETE
    # take theirs as written.
    odd_c3 = c.c3.replace("-", "").upper()
    w.put("a dashless upper-case consumer uuid is normalised", f"/allocations/{odd_c3}", 204,
          json=w.allocation_body(c.c3, {rp_a: {"VCPU": 1}}))
    w.record_write({c.c3: {rp_a: {"VCPU": 1}}})
    w.get("c3 under its normal uuid", f"/allocations/{c.c3}")
    w.get("c3 under its dashless uuid", f"/allocations/{odd_c3}")
    w.get("allocations of a malformed consumer uuid", "/allocations/not-a-uuid")
    w.delete("delete the allocations of a malformed consumer uuid", "/allocations/not-a-uuid",
             404)

    w.get("c2 after its claims", f"/allocations/{c.c2}")
    w.delete("delete the allocations of c2", f"/allocations/{c.c2}")
    w.forget(c.c2)
    w.delete("delete the allocations of c2 again", f"/allocations/{c.c2}", 404)
    w.delete("delete the allocations of an unknown consumer", f"/allocations/{c.c_missing}", 404)
    w.get("c2 has no allocations after DELETE", f"/allocations/{c.c2}")
    w.get("rp_a after the DELETE (generations unchanged)", f"/resource_providers/{rp_a}")


def _body_versions_of_put(w: _Writer) -> None:
    """The PUT body rules that change with the microversion, on consumer c2."""
    c = w.cast
    rp_a = c.rp_a
    list_form = [{"resource_provider": {"uuid": rp_a}, "resources": {"VCPU": 1}}]
    dict_form = {rp_a: {"resources": {"VCPU": 1}}}

    if w.before("1.8"):
        w.claim("project_id and user_id before 1.8", c.c2, {rp_a: {"VCPU": 1}}, 400,
                project_id=c.project, user_id=c.user)
    else:
        w.claim("missing user_id", c.c2, {rp_a: {"VCPU": 1}}, 400, user_id=ABSENT)
        w.claim("missing project_id", c.c2, {rp_a: {"VCPU": 1}}, 400, project_id=ABSENT)
        w.claim("an empty project_id", c.c2, {rp_a: {"VCPU": 1}}, 400, project_id="")

    if w.before("1.12"):
        w.claim("the dict form before 1.12", c.c2, {}, 400, allocations=dict_form)
        w.claim("an empty allocation list", c.c2, {}, 400, allocations=[])
        if w.since("1.8"):
            w.claim("another user for c2", c.c2, {rp_a: {"VCPU": 2}}, user_id=c.other_user)
    else:
        w.claim("the list form from 1.12", c.c2, {}, 400, allocations=list_form)
        w.claim("the RP generation in the dict form is ignored", c.c2, {rp_a: {"VCPU": 2}},
                allocations={rp_a: {"resources": {"VCPU": 2}, "generation": 99}},
                user_id=c.other_user)

    if w.since("1.12") and w.before("1.28"):
        w.claim("empty allocations before 1.28", c.c2, {}, 400, allocations={})
        w.claim("consumer_generation before 1.28", c.c2, {rp_a: {"VCPU": 1}}, 400,
                consumer_generation=1)

    if w.since("1.28"):
        w.claim("missing consumer_generation", c.c2, {rp_a: {"VCPU": 1}}, 400,
                consumer_generation=ABSENT)
        w.claim("a stale consumer_generation", c.c2, {rp_a: {"VCPU": 1}}, 409,
                consumer_generation=0)
        w.claim("null consumer_generation for an existing consumer", c.c2, {rp_a: {"VCPU": 1}},
                409, consumer_generation=None)
        w.claim("a generation for a new consumer", c.c3, {rp_a: {"VCPU": 1}}, 409,
                consumer_generation=3)
        w.get("c3 does not exist after the conflict", f"/allocations/{c.c3}")
        w.claim("a string consumer_generation", c.c2, {rp_a: {"VCPU": 1}}, 400,
                consumer_generation="1")
        # The "safe delete": empty allocations with the right generation (existing consumer).
        w.claim("empty allocations delete c2's allocations", c.c2, {})
        w.get("c2 is empty after the safe delete", f"/allocations/{c.c2}")
        w.claim("c2 starts again from a null generation", c.c2, {rp_a: {"VCPU": 2}})

    if w.since("1.28") and w.before("1.34"):
        w.claim("mappings before 1.34", c.c2, {rp_a: {"VCPU": 1}}, 400,
                mappings={"port": [c.rp_a]})
    if w.since("1.34"):
        w.claim("mappings are accepted and ignored", c.c2, {rp_a: {"VCPU": 1}},
                mappings={"port": [c.rp_a]})
        w.claim("empty mappings", c.c2, {rp_a: {"VCPU": 1}}, 400, mappings={})

    if w.before("1.38"):
        w.claim("consumer_type before 1.38", c.c2, {rp_a: {"VCPU": 1}}, 400,
                consumer_type="INSTANCE")
    else:
        w.claim("missing consumer_type", c.c2, {rp_a: {"VCPU": 1}}, 400, consumer_type=ABSENT)
        w.claim("a lowercase consumer_type", c.c2, {rp_a: {"VCPU": 1}}, 400,
                consumer_type="instance")
        w.claim("c2 becomes a MIGRATION", c.c2, {rp_a: {"VCPU": 1}}, consumer_type="MIGRATION")


def _allocations_by_post(w: _Writer) -> None:
    """POST /allocations: many consumers at once, all or nothing (1.13+)."""
    c = w.cast
    rp_a, rp_b = c.rp_a, c.rp_b
    if w.before("1.13"):
        w.post("POST /allocations is 404 before 1.13", "/allocations", 404,
               json={c.c4: {"allocations": {rp_a: {"resources": {"VCPU": 1}}},
                            "project_id": c.project, "user_id": c.user}})
        return

    w.post("non-admin token is 403 on POST allocations", "/allocations", 403,
           token=VISITOR_TOKEN, json={c.c4: w.allocation_body(c.c4, {rp_a: {"VCPU": 1}})})
    w.claim_many("claim for c4 and c5 at once",
                 {c.c4: {rp_a: {"VCPU": 1}}, c.c5: {rp_b: {"MEMORY_MB": 256}}})
    w.get("allocations of c4", f"/allocations/{c.c4}")
    w.get("allocations of c5", f"/allocations/{c.c5}")

    # rp_b has 4 VCPU and c1 uses 1: 2 + 2 more is one too many, so nothing is written,
    # not even c4's change, which alone would fit.
    w.claim_many("all or nothing: the sum exceeds rp_b's VCPU", {
        c.c4: {rp_a: {"VCPU": 3}}, c.c6: {rp_b: {"VCPU": 2}}, c.c7: {rp_b: {"VCPU": 2}}}, 409)
    w.get("c4 is unchanged after the failed POST", f"/allocations/{c.c4}")
    w.get("c6 has nothing after the failed POST", f"/allocations/{c.c6}")
    w.get("usages of rp_b after the failed POST", f"/resource_providers/{rp_b}/usages")
    typed = {"consumer_type": "MIGRATION"} if w.since("1.38") else {}
    w.claim_many("c6 alone fits", {c.c6: {rp_b: {"VCPU": 2}}}, **typed)
    w.claim_many("an unknown provider for an existing consumer",
                 {c.c4: {c.rp_missing: {"VCPU": 1}}}, 400)
    w.claim_many("an unknown class in POST", {c.c4: {rp_a: {"COWS": 1}}}, 400)
    w.claim_many("no inventory in POST", {c.c4: {rp_a: {"PCI_DEVICE": 1}}}, 409)
    w.post("an empty POST body", "/allocations", 400, json={})
    w.post("a consumer key that is no uuid", "/allocations", 400,
           json={"not-a-uuid": w.allocation_body(c.c4, {rp_a: {"VCPU": 1}})})
    w.claim_many("a POST entry without project_id", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                 project_id=ABSENT)

    if w.before("1.28"):
        w.claim_many("consumer_generation in POST before 1.28", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                     consumer_generation=1)
    else:
        w.claim_many("missing consumer_generation in POST", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                     consumer_generation=ABSENT)
        w.claim_many("a stale consumer_generation in POST", {c.c4: {rp_a: {"VCPU": 1}}}, 409,
                     consumer_generation=0)
    if w.before("1.34"):
        w.claim_many("mappings in POST before 1.34", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                     mappings={"port": [c.rp_a]})
    else:
        w.claim_many("mappings in POST are ignored", {c.c4: {rp_a: {"VCPU": 2}}},
                     mappings={"port": [c.rp_a]})
    if w.before("1.38"):
        w.claim_many("consumer_type in POST before 1.38", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                     consumer_type="INSTANCE")
    else:
        w.claim_many("missing consumer_type in POST", {c.c4: {rp_a: {"VCPU": 1}}}, 400,
                     consumer_type=ABSENT)

    w.claim_many("POST clears c5 with empty allocations", {c.c5: {}})
    w.get("c5 is empty after the clearing POST", f"/allocations/{c.c5}")
    w.get("allocations on rp_b after the POSTs", f"/resource_providers/{rp_b}/allocations")


def _reshaper(w: _Writer) -> None:
    """POST /reshaper (1.30+): DISK_GB and c8's allocation of it move from rp_child into
    its new child rp_reshaped, after reshapes that fail and must change nothing; the
    section removes c8 and rp_reshaped again."""
    c = w.cast
    parent, child = c.rp_child, c.rp_reshaped
    if w.before("1.30"):
        w.post("POST /reshaper is 404 before 1.30", "/reshaper", 404,
               json={"inventories": {parent: {"resource_provider_generation": 0,
                                              "inventories": {}}},
                     "allocations": {}})
        return
    disk = {"DISK_GB": {"total": 100}}
    w.post("create rp_reshaped, a child of rp_child", "/resource_providers", 200,
           json={"name": c.provider_name("rp_reshaped"), "uuid": child,
                 "parent_provider_uuid": parent})
    w.reshape("give rp_child DISK_GB and c8 some of it", {parent: disk},
              {c.c8: {parent: {"DISK_GB": 10}}})
    w.post("non-admin token is 403 on POST /reshaper", "/reshaper", 403, token=VISITOR_TOKEN,
           json=w.reshaper_body({parent: disk}, {}))

    stale = w.reshaper_body({parent: {}, child: disk}, {c.c8: {child: {"DISK_GB": 10}}})
    stale["inventories"][parent]["resource_provider_generation"] -= 1
    w.post("a reshape with a stale provider generation", "/reshaper", 409, json=stale)
    w.reshape("a reshape with a stale consumer generation", {parent: {}, child: disk},
              {c.c8: {child: {"DISK_GB": 10}}}, 409, consumer_generation=0)
    w.reshape("a reshape naming a missing provider's inventories", {c.rp_missing: disk}, {}, 400)
    w.reshape("a reshape allocating on a missing provider", {parent: disk},
              {c.c8: {c.rp_missing: {"DISK_GB": 10}}}, 400)
    w.reshape("a reshape with an unknown class of inventory", {parent: {"COWS": {"total": 1}}},
              {}, 400)
    w.reshape("a reshape allocating an unknown class", {parent: disk},
              {c.c8: {parent: {"COWS": 1}}}, 400)
    w.reshape("a reshape whose allocation exceeds the new inventory", {parent: {}, child: disk},
              {c.c8: {child: {"DISK_GB": 1000}}}, 409)
    w.reshape("a reshape removing an inventory still allocated", {parent: {}, child: disk}, {},
              409)
    w.post("a reshape of no provider", "/reshaper", 400,
           json={"inventories": {}, "allocations": {}})
    if w.before("1.38"):
        w.reshape("consumer_type in a reshape before 1.38", {parent: disk},
                  {c.c8: {parent: {"DISK_GB": 10}}}, 400, consumer_type="INSTANCE")
    else:
        w.reshape("a reshape without consumer_type", {parent: disk},
                  {c.c8: {parent: {"DISK_GB": 10}}}, 400, consumer_type=ABSENT)
    w.get("rp_child is unchanged after the failed reshapes",
          f"/resource_providers/{parent}/inventories")
    w.get("rp_reshaped is unchanged after the failed reshapes",
          f"/resource_providers/{child}/inventories")
    w.get("c8 is unchanged after the failed reshapes", f"/allocations/{c.c8}")

    w.reshape("move DISK_GB and c8's allocation into rp_reshaped", {parent: {}, child: disk},
              {c.c8: {child: {"DISK_GB": 10}}})
    w.get("rp_child after the move", f"/resource_providers/{parent}/inventories")
    w.get("rp_reshaped after the move", f"/resource_providers/{child}/inventories")
    w.get("c8 after the move", f"/allocations/{c.c8}")
    w.reshape("clear c8 and rp_reshaped in one reshape", {child: {}}, {c.c8: {}})
    w.get("c8 is gone", f"/allocations/{c.c8}")
    w.delete("delete rp_reshaped", f"/resource_providers/{child}")


def _usages(w: _Writer) -> None:
    """GET /usages (1.9+; grouped by consumer type from 1.38)."""
    c = w.cast
    if w.before("1.9"):
        w.get("GET /usages is 404 before 1.9", f"/usages?project_id={c.project}", 404)
        return
    w.get("usages of the project", f"/usages?project_id={c.project}")
    w.get("usages of the project and user", f"/usages?project_id={c.project}&user_id={c.user}")
    w.get("usages of an unknown project", "/usages?project_id=nobody")
    w.get("usages without project_id", "/usages", 400)
    w.get("usages with an unknown parameter", f"/usages?project_id={c.project}&colour=blue", 400)
    w.get("non-admin token is 403 on usages", f"/usages?project_id={c.project}", 403,
          token=VISITOR_TOKEN)
    if w.since("1.38"):
        # A consumer written before 1.38 has no type: it reads back, and counts, as unknown.
        w.put("an untyped consumer c7, written at 1.37", f"/allocations/{c.c7}", 204,
              version="1.37", json={"allocations": {c.rp_a: {"resources": {"VCPU": 1}}},
                                    "project_id": c.project, "user_id": c.user,
                                    "consumer_generation": None})
        w.record_write({c.c7: {c.rp_a: {"VCPU": 1}}})
        w.get("c7 reads back as unknown", f"/allocations/{c.c7}")
        for consumer_type in ("INSTANCE", "MIGRATION", "all", "unknown", "NOPE"):
            w.get(f"usages of consumer type {consumer_type}",
                  f"/usages?project_id={c.project}&consumer_type={consumer_type}")
    else:
        w.get("consumer_type filter before 1.38",
              f"/usages?project_id={c.project}&consumer_type=INSTANCE", 400)


def _in_use_and_cleanup(w: _Writer) -> None:
    """What cannot be removed while in use; then everything this sequence made is removed."""
    c = w.cast
    rp_a, rp_b = c.rp_a, c.rp_b
    w.delete("delete rp_b while it has allocations", f"/resource_providers/{rp_b}", 409)
    # The shrink succeeds only with the right generation, which vouches for the one the
    # next step sends: its 409 must come from the class in use, not from a stale generation.
    w.put("shrink VCPU of rp_b below its usage", f"/resource_providers/{rp_b}/inventories/VCPU",
          200, json={"resource_provider_generation": w.generation(rp_b), "total": 2})
    w.bump(rp_b)
    w.put("drop VCPU of rp_b while in use", f"/resource_providers/{rp_b}/inventories", 409,
          json={"resource_provider_generation": w.generation(rp_b),
                "inventories": {"MEMORY_MB": {"total": 1024, "step_size": 256}}})
    w.get("usages of rp_b above its capacity", f"/resource_providers/{rp_b}/usages")
    w.delete("delete VCPU of rp_b while in use", f"/resource_providers/{rp_b}/inventories/VCPU",
             409)
    if w.before("1.5"):
        w.delete("delete all inventories is 405 before 1.5",
                 f"/resource_providers/{rp_b}/inventories", 405)
    else:
        w.delete("delete all inventories of rp_b while in use",
                 f"/resource_providers/{rp_b}/inventories", 409)
    if w.since("1.2"):
        # rp_a holds inventory of class A.
        w.delete("delete custom class A while in inventory",
                 f"/resource_classes/{c.custom_class('A')}", 409)
    if w.since("1.14") and rp_a in set().union(*w.holdings.values()):
        w.delete("delete rp_a while it has a child and allocations",
                 f"/resource_providers/{rp_a}", 409)

    for label in CONSUMERS:
        consumer = c.uuids[label]
        if consumer in w.holdings:
            w.delete(f"release {label}", f"/allocations/{consumer}")
            w.forget(consumer)
    if w.since("1.14"):
        w.delete("delete rp_a while it has a child", f"/resource_providers/{rp_a}", 409)
        w.delete("delete the child", f"/resource_providers/{c.rp_child}")
    w.get("usages of rp_b when all is released", f"/resource_providers/{rp_b}/usages")
    if w.since("1.5"):
        w.delete("delete all inventories of rp_a", f"/resource_providers/{rp_a}/inventories")
        w.bump(rp_a)
        w.get("rp_a has no inventories left", f"/resource_providers/{rp_a}/inventories")
    w.delete("delete rp_a", f"/resource_providers/{rp_a}")
    w.delete("delete rp_b", f"/resource_providers/{rp_b}")
    if w.since("1.2"):
        w.delete("delete custom class A", f"/resource_classes/{c.custom_class('A')}")
        w.get("the classes are back to the standard ones", "/resource_classes")


# --------------------------------------------------------------------------------------
# Running a script
# --------------------------------------------------------------------------------------

ClientFactory = Callable[[str], httpx.Client]


def new_client(base_url: str) -> httpx.Client:
    """The default client: one connection pool per run, generous timeouts, no redirects."""
    return httpx.Client(base_url=base_url, timeout=60.0, follow_redirects=False)


def run_script(script: Script, base_url: str,
               make_client: ClientFactory = new_client) -> list[Exchange]:
    """Send every step to the server at ``base_url``, in order; record each answer."""
    labels = script.cast.labels()
    with make_client(base_url) as client:
        return [_exchange(client, step, labels) for step in script.steps]


def _exchange(client: httpx.Client, step: Step, labels: dict[str, str]) -> Exchange:
    request = describe_request(step, labels)
    try:
        response = client.request(step.method, step.path, headers=_request_headers(step),
                                  **_request_body(step))
    except httpx.TransportError as error:
        # A server that drops the connection has answered too; record that, and go on.
        return Exchange(step.name, request, 0, {}, f"no answer: {error!r}")
    return Exchange(step.name, request, response.status_code,
                    _normalise_headers(response.headers, labels),
                    _normalise_body(response, labels))


def _request_headers(step: Step) -> dict[str, str]:
    headers: dict[str, str] = {}
    if step.token is not None:
        headers["x-auth-token"] = step.token
    if step.version is not None:
        version = step.version
        headers["openstack-api-version"] = (
            version if version.startswith("placement") else f"placement {version}")
    headers.update(step.headers)
    return headers


def _request_body(step: Step) -> dict[str, Any]:
    if step.json is not ABSENT:
        return {"json": step.json}
    if step.content is not None:
        return {"content": step.content}
    return {}


def describe_request(step: Step, labels: dict[str, str]) -> str:
    """`PUT /allocations/<c1> @1.28`, plus whatever is unusual about the request."""
    words = [step.method, _relabel_text(step.path, labels),
             f"@{step.version}" if step.version else "(no version header)"]
    if step.token != ADMIN_TOKEN:
        words.append("(no token)" if step.token is None else f"(token {step.token})")
    if step.headers:
        words.append(" ".join(f"{name}: {value}" for name, value in step.headers))
    if step.json is not ABSENT:
        words.append(json.dumps(_relabel(step.json, labels), sort_keys=True))
    elif step.content is not None:
        words.append(repr(step.content))
    return " ".join(words)


# --------------------------------------------------------------------------------------
# Normalisation: only what must be equal on both servers
# --------------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
GENERATED = "<generated-uuid>"
PRESENT = "<present>"

# Headers compared by value, after the tidying in `_normalise_headers`.
COMPARED_HEADERS = ("openstack-api-version", "vary", "content-type", "location", "allow",
                    "cache-control")
# Error fields compared; `detail` is wording and `request_id` differs by nature.
ERROR_FIELDS = ("status", "title", "code", "max_version", "min_version")
# Lists whose order the API does not define: compared as sets, sorted by this key.
UNORDERED_LISTS = {"resource_providers": "uuid", "resource_classes": "name"}


def _normalise_headers(headers: httpx.Headers, labels: dict[str, str]) -> dict[str, str]:
    """The contract's headers, tidied so that only meaningful differences remain.

    Comma-separated token lists (`vary`, `allow`) are compared as sets of tokens, as HTTP
    means them; `content-type` by media type only (`; charset=` is a detail of the
    framework); `location` by path only (upstream writes an absolute URL); and
    `last-modified` by presence only (it is a time).
    """
    normalised: dict[str, str] = {}
    for name in COMPARED_HEADERS:
        if name not in headers:
            continue
        value = headers[name]
        if name in ("vary", "allow"):
            value = ", ".join(sorted(token.strip().upper() if name == "allow" else
                                     token.strip().lower() for token in value.split(",")))
        elif name == "content-type":
            value = value.split(";")[0].strip().lower()
        elif name == "location":
            value = _relabel_text(urlsplit(value).path, labels)
        normalised[name] = value
    if "last-modified" in headers:
        normalised["last-modified"] = PRESENT
    return normalised


def _normalise_body(response: httpx.Response, labels: dict[str, str]) -> Any:
    """A success body whole (relabelled); an error body down to its comparable fields."""
    if not response.content:
        return None
    try:
        body = response.json()
    except ValueError:
        # Plain text (a 406 to an Accept without JSON): only its first line is not wording.
        return response.text.strip().splitlines()[0] if response.text.strip() else ""
    if response.status_code >= 400:
        return _normalise_error(body)
    return _sort_unordered(_relabel(body, labels))


def _normalise_error(body: Any) -> Any:
    """Each error's status, title and code; the wording and the request id are dropped.

    A 401 from the auth layer is not in Placement's `errors` format but webob's own
    (`{"message", "code", "title"}`); the same rule applies: `message` is wording.
    """
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return {"errors": [{key: error[key] for key in ERROR_FIELDS if key in error}
                           for error in body["errors"] if isinstance(error, dict)]}
    if isinstance(body, dict):
        return {key: value for key, value in body.items()
                if key not in ("message", "detail", "request_id")}
    return body


def _relabel(value: Any, labels: dict[str, str]) -> Any:
    """The cast's UUIDs as `<label>`, others as `<generated-uuid>`, in keys and values."""
    if isinstance(value, dict):
        return {_relabel_text(key, labels): _relabel(item, labels) for key, item in value.items()}
    if isinstance(value, list):
        return [_relabel(item, labels) for item in value]
    if isinstance(value, str):
        return _relabel_text(value, labels)
    return value


def _relabel_text(text: str, labels: dict[str, str]) -> str:
    return _UUID.sub(lambda match: labels.get(match.group(0).lower(), GENERATED), text)


# Lists of names whose order upstream takes from a Python set.
UNORDERED_NAMES = ("traits", "aggregates")


def _sort_unordered(body: Any) -> Any:
    """Sort the lists of `UNORDERED_LISTS` and `UNORDERED_NAMES`, and allocation
    candidates (`sort_candidates`), so that their order is not compared."""
    if isinstance(body, dict) and isinstance(body.get("allocation_requests"), list):
        return sort_candidates(body)
    if isinstance(body, dict):
        for key in UNORDERED_NAMES:
            names = body.get(key)
            if isinstance(names, list) and all(isinstance(name, str) for name in names):
                body = {**body, key: sorted(names)}
        for key, sort_key in UNORDERED_LISTS.items():
            items = body.get(key)
            if isinstance(items, list) and all(isinstance(item, dict) for item in items):
                body = {**body, key: sorted(items, key=lambda item: str(item.get(sort_key)))}
    return body


def sort_candidates(body: dict[str, Any]) -> dict[str, Any]:
    """Allocation candidates as upstream guarantees them: a multiset of allocation
    requests (their order is "deterministic but undefined"), each with its providers
    (a list before 1.12) and the providers of each mapping in no order, and each
    provider summary with its traits in no order. The differential walk sets the same
    order aside (`tests/differential/normalise.py`)."""
    requests = []
    for request in body["allocation_requests"]:
        allocations = request.get("allocations")
        if isinstance(allocations, list):
            allocations = sorted(allocations, key=lambda entry: json.dumps(entry, sort_keys=True))
        request = {**request, "allocations": allocations}
        if isinstance(request.get("mappings"), dict):
            request["mappings"] = {suffix: sorted(providers)
                                   for suffix, providers in request["mappings"].items()}
        requests.append(request)
    summaries = body.get("provider_summaries")
    if isinstance(summaries, dict):
        summaries = {provider: _sort_unordered(summary) for provider, summary in summaries.items()}
    return {**body, "provider_summaries": summaries,
            "allocation_requests": sorted(requests,
                                          key=lambda request: json.dumps(request, sort_keys=True))}


# --------------------------------------------------------------------------------------
# Comparing two runs
# --------------------------------------------------------------------------------------


def differences(upstream: Iterable[Exchange], reference: Iterable[Exchange]) -> list[Difference]:
    """The steps whose normalised answers differ, in script order."""
    return [Difference(theirs.step, theirs.request, theirs, ours)
            for theirs, ours in zip(upstream, reference, strict=True)
            if theirs.answer() != ours.answer()]


def unexpected(script: Script, upstream: Iterable[Exchange]) -> list[str]:
    """Steps where upstream did not give the status the script expects of it.

    Such a step no longer tests what its name says (a wrong generation in the script,
    say, turns a success into a 409 on both servers), so the script must be fixed first.
    """
    return [f"- {step.name}: {exchange.request}: expected {step.expect}, "
            f"upstream gave {exchange.status} {_compact(exchange.body)}"
            for step, exchange in zip(script.steps, upstream, strict=True)
            if exchange.status != step.expect]


def report(found: list[Difference], version: str) -> str:
    """All the differences of one microversion, readably, one step after another."""
    header = f"{len(found)} step(s) at {version} differ from upstream Placement 16.0.0:"
    return "\n".join([header, *(difference.describe() for difference in found)])
