"""The official clients, unchanged, against the reference server.

Users reach Placement through the ``openstack`` CLI with the osc-placement plugin and
through openstacksdk's placement proxy. Both send back what they read (``allocation unset``
PUTs the per-provider ``generation`` it got from GET, ``inventory set --amend`` PUTs the
inventories document it read), and both use several microversions, so the server has to
accept exactly what upstream accepts. Every test here was first checked against upstream
Placement 16.0.0, but the last ones: they inject faults (`--control`), which upstream
cannot, and check that the clients report them as the errors they stand for.

The clients live in a virtualenv of their own (tox's ``clients`` environment), named by
``PLACEMENT_CLIENTS_VENV``; the SDK is driven by that venv's python, since it is not
importable here. Each CLI call costs about a second of start-up, so every test walks one
resource through its whole life rather than one call per test.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reference_impl.control import PREFIX
from tests.dependencies import virtualenv
from tests.server_process import running_server

TOKEN = "admin"
CLI_TIMEOUT = 120
# None: the CLI negotiates (it asks for its highest gap-free microversion, 1.29).
VERSIONS = [pytest.param(None, id="negotiated"), pytest.param("1.39", id="1.39")]
MAX_INT = 2147483647


@pytest.fixture(scope="module")
def clients_venv() -> Path:
    """The clients' virtualenv. Without a usable one every test here is skipped, or failed
    when PLACEMENT_TEST_REQUIRE names the clients."""
    return virtualenv("clients", "PLACEMENT_CLIENTS_VENV", ("openstack", "python"))


@pytest.fixture(scope="module")
def placement_url(clients_venv, tmp_path_factory):
    database = tmp_path_factory.mktemp("official-clients") / "placement.db"
    with running_server(f"sqlite:///{database}") as server:
        yield server.url


@pytest.fixture(scope="module")
def client_home(tmp_path_factory):
    """A HOME of their own, so no clouds.yaml or cache of the caller's is read."""
    return tmp_path_factory.mktemp("clients-home")


def client_env(venv: Path, home: Path) -> dict[str, str]:
    """A clean environment: no OS_* variables (nor anything else) from the caller."""
    return {"PATH": f"{venv / 'bin'}{os.pathsep}{os.defpath}", "HOME": str(home),
            "LANG": "C.UTF-8"}


class CliError(AssertionError):
    pass


class Cli:
    """``openstack`` from the clients' venv, as an admin_token user at one microversion.

    Every call runs with ``--debug``: its stderr then holds each request and response
    (``REQ:``/``RESP:``/``RESP BODY:``), which a failure reports.
    """

    def __init__(self, url: str, version: str | None, venv: Path, home: Path):
        self.url, self.version = url, version
        self.program, self.env = venv / "bin" / "openstack", client_env(venv, home)

    def _run(self, args) -> subprocess.CompletedProcess:
        command = [str(self.program), "--debug",
                   "--os-auth-type", "admin_token", "--os-endpoint", self.url,
                   "--os-token", TOKEN]
        if self.version:
            command += ["--os-placement-api-version", self.version]
        return subprocess.run([*command, *args], capture_output=True, text=True,
                              env=self.env, timeout=CLI_TIMEOUT)

    def __call__(self, *args: str):
        """Run a command that prints a result; return it parsed from ``-f json``."""
        result = self._run([*args, "-f", "json"])
        self._check(args, result)
        return json.loads(result.stdout)

    def reads(self, *commands: tuple[str, ...]) -> list:
        """Run independent read-only commands side by side; their results in order."""
        with ThreadPoolExecutor(len(commands)) as pool:
            return list(pool.map(lambda args: self(*args), commands))

    def run(self, *args: str) -> None:
        """Run a command that prints nothing (create a class, delete anything)."""
        self._check(args, self._run(args))

    def fails(self, *args: str) -> str:
        """Run a command that must fail; return its error message."""
        result = self._run(args)
        if result.returncode == 0:
            raise CliError(f"`openstack {' '.join(args)}` (microversion "
                           f"{self.version or 'negotiated'}) succeeded but should have failed:\n"
                           f"{_exchange(result.stderr)}\n{result.stdout}")
        return _error_message(result.stderr)

    def _check(self, args, result: subprocess.CompletedProcess) -> None:
        if result.returncode != 0:
            raise CliError(
                f"`openstack {' '.join(args)}` (microversion {self.version or 'negotiated'}) "
                f"exited {result.returncode}: {_error_message(result.stderr)}\n"
                f"{_exchange(result.stderr)}")


def _exchange(stderr: str) -> str:
    """The requests and responses in a ``--debug`` stderr."""
    return "\n".join(line for line in stderr.splitlines()
                     if line.startswith(("REQ:", "RESP:", "RESP BODY:")))


def _error_message(stderr: str) -> str:
    """What the CLI told the user: the line osc-lib logs before its traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)") and index:
            return lines[index - 1]
    return "\n".join(lines[-3:])


@pytest.fixture(params=VERSIONS)
def cli(request, placement_url, clients_venv, client_home):
    return Cli(placement_url, request.param, clients_venv, client_home)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def by_class(rows) -> dict:
    return {row.pop("resource_class"): row for row in rows}


# -- resource providers --------------------------------------------------------------------


def test_resource_provider_lifecycle(cli):
    parent_uuid, parent_name, child_name = str(uuid.uuid4()), unique("parent"), unique("child")

    parent = cli("resource", "provider", "create", "--uuid", parent_uuid, parent_name)
    assert parent == {"uuid": parent_uuid, "name": parent_name, "generation": 0,
                      "root_provider_uuid": parent_uuid, "parent_provider_uuid": None}
    child = cli("resource", "provider", "create", "--parent-provider", parent_uuid, child_name)
    assert child["name"] == child_name and child["generation"] == 0
    assert child["parent_provider_uuid"] == parent_uuid
    assert child["root_provider_uuid"] == parent_uuid

    named, in_tree = cli.reads(("resource", "provider", "list", "--name", child_name),
                               ("resource", "provider", "list", "--in-tree", child["uuid"]))
    assert named == [child]
    assert sorted(in_tree, key=lambda rp: rp["uuid"]) == sorted([parent, child],
                                                               key=lambda rp: rp["uuid"])

    renamed = cli("resource", "provider", "set", parent_uuid, "--name", parent_name + "-new")
    assert renamed == {**parent, "name": parent_name + "-new"}
    assert cli("resource", "provider", "show", parent_uuid) == renamed

    # A provider with a child cannot go: upstream answers 409.
    assert "(HTTP 409)" in cli.fails("resource", "provider", "delete", parent_uuid)
    cli.run("resource", "provider", "delete", child["uuid"])
    cli.run("resource", "provider", "delete", parent_uuid)
    message = cli.fails("resource", "provider", "show", parent_uuid)
    assert "(HTTP 404)" in message and parent_uuid in message


# -- inventories ---------------------------------------------------------------------------

DEFAULTS = {"min_unit": 1, "max_unit": MAX_INT, "step_size": 1, "reserved": 0,
            "allocation_ratio": 1.0}


def test_inventory_lifecycle(cli):
    name = unique("inventory")
    rp = cli("resource", "provider", "create", name)["uuid"]

    # PUT /resource_providers/{uuid}/inventories with the generation GET gave.
    vcpu = {**DEFAULTS, "total": 8}
    memory = {**DEFAULTS, "total": 4096, "reserved": 512, "max_unit": 2048}
    written = cli("resource", "provider", "inventory", "set", rp, "--resource", "VCPU=8",
                  "--resource", "MEMORY_MB=4096", "--resource", "MEMORY_MB:reserved=512",
                  "--resource", "MEMORY_MB:max_unit=2048")
    assert by_class(written) == {"VCPU": vcpu, "MEMORY_MB": memory}

    # PUT /resource_providers/{uuid}/inventories/VCPU replaces that one record: what the
    # body leaves out takes its default.
    vcpu = {**DEFAULTS, "total": 16, "allocation_ratio": 4.0, "max_unit": 8}
    assert cli("resource", "provider", "inventory", "class", "set", rp, "VCPU",
               "--total", "16", "--allocation_ratio", "4.0", "--max_unit", "8") == vcpu

    # ... and only replaces: a class the provider lacks is upstream's 400.
    assert "(HTTP 400)" in cli.fails("resource", "provider", "inventory", "class", "set", rp,
                                     "DISK_GB", "--total", "100")

    # --amend PUTs back the inventories document it read, with a class added.
    disk = {**DEFAULTS, "total": 100, "max_unit": 50}
    amended = cli("resource", "provider", "inventory", "set", rp, "--amend",
                  "--resource", "DISK_GB=100", "--resource", "DISK_GB:max_unit=50")
    assert by_class(amended) == {"VCPU": vcpu, "MEMORY_MB": memory, "DISK_GB": disk}

    listed, shown, fits, too_big = cli.reads(
        ("resource", "provider", "inventory", "list", rp),
        ("resource", "provider", "inventory", "show", rp, "VCPU"),
        # The providers' resources filter honours capacity and max_unit.
        ("resource", "provider", "list", "--name", name,
         "--resource", "VCPU=8", "--resource", "DISK_GB=50"),
        ("resource", "provider", "list", "--name", name, "--resource", "DISK_GB=60"))
    assert by_class(listed) == {"VCPU": {**vcpu, "used": 0}, "MEMORY_MB": {**memory, "used": 0},
                                "DISK_GB": {**disk, "used": 0}}
    assert shown == {**vcpu, "used": 0}
    assert [p["uuid"] for p in fits] == [rp]
    assert too_big == []

    cli.run("resource", "provider", "inventory", "delete", rp, "--resource-class", "DISK_GB")
    assert "(HTTP 404)" in cli.fails("resource", "provider", "inventory", "show", rp, "DISK_GB")
    cli.run("resource", "provider", "inventory", "delete", rp)  # all of them (1.5+)
    assert cli("resource", "provider", "inventory", "list", rp) == []


# -- resource classes ----------------------------------------------------------------------


def test_resource_class_lifecycle(cli):
    created = "CUSTOM_" + uuid.uuid4().hex.upper()
    put = "CUSTOM_" + uuid.uuid4().hex.upper()

    cli.run("resource", "class", "create", created)
    cli.run("resource", "class", "set", put)  # PUT /resource_classes/{name} (1.7+) creates
    shown, listed = cli.reads(("resource", "class", "show", created),
                              ("resource", "class", "list"))
    assert shown == {"name": created}
    names = [row["name"] for row in listed]
    assert {"VCPU", "MEMORY_MB", "DISK_GB", created, put} <= set(names)
    assert "(HTTP 409)" in cli.fails("resource", "class", "create", put)

    assert "(HTTP 400)" in cli.fails("resource", "class", "delete", "VCPU")
    cli.run("resource", "class", "delete", created)
    assert "(HTTP 404)" in cli.fails("resource", "class", "show", created)


# -- traits and aggregates -----------------------------------------------------------------


def test_trait_lifecycle(cli):
    trait = "CUSTOM_" + uuid.uuid4().hex.upper()
    rp = cli("resource", "provider", "create", unique("traits"))["uuid"]

    cli.run("trait", "create", trait)
    shown, listed = cli.reads(("trait", "show", trait),
                              ("trait", "list", "--name", f"startswith:{trait}"))
    assert shown == {"name": trait}
    assert listed == [{"name": trait}]

    # set GETs the provider's generation, then PUTs the traits with it.
    written = cli("resource", "provider", "trait", "set", rp, "--trait", trait,
                  "--trait", "HW_CPU_X86_AVX2")
    assert sorted(row["name"] for row in written) == sorted([trait, "HW_CPU_X86_AVX2"])
    assert sorted(row["name"] for row in cli("resource", "provider", "trait", "list", rp)) == \
        sorted([trait, "HW_CPU_X86_AVX2"])
    assert cli("trait", "list", "--name", f"in:{trait}", "--associated") == [{"name": trait}]
    assert "(HTTP 409)" in cli.fails("trait", "delete", trait)
    assert "(HTTP 400)" in cli.fails("trait", "delete", "HW_CPU_X86_AVX2")

    cli.run("resource", "provider", "trait", "delete", rp)
    assert cli("resource", "provider", "trait", "list", rp) == []
    cli.run("trait", "delete", trait)
    assert "(HTTP 404)" in cli.fails("trait", "show", trait)


def test_aggregate_lifecycle(cli):
    rp = cli("resource", "provider", "create", unique("aggregates"))["uuid"]
    aggregates = sorted(str(uuid.uuid4()) for _ in range(2))
    # Both microversions are past 1.19: the command sends the generation it is given.
    written = cli("resource", "provider", "aggregate", "set", rp, "--generation", "0",
                  *(argument for aggregate in aggregates
                    for argument in ("--aggregate", aggregate)))
    listed = cli("resource", "provider", "aggregate", "list", rp)
    for rows in (written, listed):
        assert sorted(row["uuid"] for row in rows) == aggregates
    assert cli("resource", "provider", "show", rp)["generation"] == 1
    assert "(HTTP 409)" in cli.fails("resource", "provider", "aggregate", "set", rp,
                                     "--generation", "0")
    assert cli("resource", "provider", "aggregate", "set", rp, "--generation", "1") == []
    assert cli("resource", "provider", "aggregate", "list", rp) == []


def _provider_holding(url: str, aggregate: str, traits: list[str]) -> str:
    """A provider in `aggregate` with `traits` (made if new), set up over plain HTTP."""
    headers = {"x-auth-token": TOKEN, "openstack-api-version": "placement 1.39"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        rp = client.post("/resource_providers", json={"name": unique("filters")}).json()["uuid"]
        for trait in traits:
            assert client.put(f"/traits/{trait}").status_code in (201, 204)
        for path, body in (("aggregates", {"aggregates": [aggregate]}),
                           ("traits", {"traits": traits})):
            response = client.get(f"/resource_providers/{rp}")
            body["resource_provider_generation"] = response.json()["generation"]
            response = client.put(f"/resource_providers/{rp}/{path}", json=body)
            assert response.status_code == 200, response.text
    return rp


def test_provider_list_by_aggregate_and_trait(cli, placement_url):
    aggregate = str(uuid.uuid4())
    trait, other = (f"CUSTOM_{uuid.uuid4().hex.upper()}" for _ in range(2))
    both = _provider_holding(placement_url, aggregate, [trait, other])
    only = _provider_holding(placement_url, aggregate, [trait])

    def listed(*filters: str) -> list[str]:
        return sorted(row["uuid"] for row in cli("resource", "provider", "list", *filters))

    assert listed("--member-of", aggregate) == sorted([both, only])
    assert listed("--member-of", aggregate, "--required", other) == [both]
    assert listed("--member-of", aggregate, "--required", trait, "--forbidden", other) == [
        only]
    if cli.version == "1.39":  # any of several traits, from 1.39
        assert listed("--required", f"{other},{trait}") == sorted([both, only])


# -- allocations and usages ----------------------------------------------------------------


def _provider_with_inventory(url: str, inventories: dict) -> str:
    """Set-up the CLI tests above already cover, done over plain HTTP to save time."""
    headers = {"x-auth-token": TOKEN, "openstack-api-version": "placement 1.39"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        created = client.post("/resource_providers", json={"name": unique("alloc")})
        assert created.status_code == 200, created.text
        rp = created.json()["uuid"]
        response = client.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0, "inventories": inventories})
        assert response.status_code == 200, response.text
    return rp


def test_allocation_lifecycle_and_usages(cli, placement_url):
    rp1 = _provider_with_inventory(placement_url, {"VCPU": {"total": 8},
                                                   "MEMORY_MB": {"total": 2048}})
    rp2 = _provider_with_inventory(placement_url, {"VCPU": {"total": 4}})
    consumer, project, user = str(uuid.uuid4()), unique("project"), unique("user")
    typed = cli.version == "1.39"  # consumer types exist from 1.38
    owner = {"project_id": project, "user_id": user}
    consumer_args = ["--project-id", project, "--user-id", user]
    if typed:
        owner["consumer_type"] = "INSTANCE"
        consumer_args += ["--consumer-type", "INSTANCE"]

    def rows(allocations):
        """What ``allocation set/show/unset`` print, for {provider: resources}."""
        return sorted([{"resource_provider": rp, "resources": resources, **owner}
                       for rp, resources in allocations.items()],
                      key=lambda row: row["resource_provider"])

    def printed(result):
        for row in result:
            assert isinstance(row.pop("generation"), int)  # the provider's
        return sorted(result, key=lambda row: row["resource_provider"])

    # set GETs the consumer (1.28+: for its generation, null when new), then PUTs.
    written = cli("resource", "provider", "allocation", "set", consumer,
                  "--allocation", f"rp={rp1},VCPU=2,MEMORY_MB=512",
                  "--allocation", f"rp={rp2},VCPU=1", *consumer_args)
    both = rows({rp1: {"VCPU": 2, "MEMORY_MB": 512}, rp2: {"VCPU": 1}})
    assert printed(written) == both
    shown, provider_usage, project_usage = cli.reads(
        ("resource", "provider", "allocation", "show", consumer),
        ("resource", "provider", "usage", "show", rp1),
        ("resource", "usage", "show", project, "--user-id", user))
    assert printed(shown) == both
    assert by_class(provider_usage) == {"VCPU": {"usage": 2}, "MEMORY_MB": {"usage": 512}}
    # GET /usages: per class before 1.38, per consumer type from 1.38.
    if typed:
        expected = {"INSTANCE": {"usage": {"consumer_count": 1, "VCPU": 3, "MEMORY_MB": 512}}}
    else:
        expected = {"VCPU": {"usage": 3}, "MEMORY_MB": {"usage": 512}}
    assert by_class(project_usage) == expected

    # unset GETs the allocations and PUTs that document back (each provider's generation
    # included) without what it removes.
    unset = cli("resource", "provider", "allocation", "unset", consumer, "--provider", rp2)
    assert printed(unset) == rows({rp1: {"VCPU": 2, "MEMORY_MB": 512}})
    unset = cli("resource", "provider", "allocation", "unset", consumer,
                "--resource-class", "MEMORY_MB")
    assert printed(unset) == rows({rp1: {"VCPU": 2}})
    held = cli("resource", "provider", "show", rp1, "--allocations")["allocations"]
    assert {c: a["resources"] for c, a in held.items()} == {consumer: {"VCPU": 2}}

    cli.run("resource", "provider", "allocation", "delete", consumer)
    assert cli("resource", "provider", "allocation", "show", consumer) == []

    # The deleted consumer starts again from generation null; all of rp2 is free again.
    again = cli("resource", "provider", "allocation", "set", consumer,
                "--allocation", f"rp={rp2},VCPU=4", *consumer_args)
    assert printed(again) == rows({rp2: {"VCPU": 4}})
    # Unsetting everything PUTs {"allocations": {}} with the consumer's generation (1.28+).
    assert cli("resource", "provider", "allocation", "unset", consumer) == []
    assert cli("resource", "usage", "show", project) == []


# -- allocation candidates -----------------------------------------------------------------


@dataclass(frozen=True)
class CandidateWorld:
    """A compute tree (a root with memory, a child with CPUs and a trait) and a flat
    compute node, in classes and a trait of their own, so only they can be candidates."""

    cpu: str
    mem: str
    trait: str
    aggregate: str
    root: str
    child: str
    flat: str


def _candidate_world(url: str) -> CandidateWorld:
    """Set-up over plain HTTP: the CLI's and the SDK's part is the candidates alone."""
    tag = uuid.uuid4().hex.upper()
    cpu, mem, trait = f"CUSTOM_CPU_{tag}", f"CUSTOM_MEM_{tag}", f"CUSTOM_T_{tag}"
    aggregate = str(uuid.uuid4())
    headers = {"x-auth-token": TOKEN, "openstack-api-version": "placement 1.39"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for path in (f"/resource_classes/{cpu}", f"/resource_classes/{mem}", f"/traits/{trait}"):
            assert client.put(path).status_code == 201

        def provider(parent: str | None, inventories: dict, traits: list[str]) -> str:
            body = {"name": unique("candidates"),
                    **({"parent_provider_uuid": parent} if parent else {})}
            rp = client.post("/resource_providers", json=body).json()["uuid"]
            for path, document in (("inventories", {"inventories": inventories}),
                                   ("traits", {"traits": traits}),
                                   ("aggregates", {"aggregates": [aggregate]})):
                generation = client.get(f"/resource_providers/{rp}").json()["generation"]
                response = client.put(f"/resource_providers/{rp}/{path}",
                                      json={**document, "resource_provider_generation": generation})
                assert response.status_code == 200, response.text
            return rp

        root = provider(None, {mem: {"total": 2048}}, [])
        child = provider(root, {cpu: {"total": 4}}, [trait])
        flat = provider(None, {cpu: {"total": 8}, mem: {"total": 1024}}, [])
    return CandidateWorld(cpu, mem, trait, aggregate, root, child, flat)


def test_allocation_candidate_list(cli, placement_url):
    """``allocation candidate list`` prints a row per provider of each candidate, numbered
    by candidate; candidates come in no defined order, nor the classes of an allocation,
    so both are compared as sets."""
    w = _candidate_world(placement_url)

    def candidates(*options: str) -> list[dict[str, frozenset[str]]]:
        grouped: dict[int, dict[str, frozenset[str]]] = {}
        for row in cli("allocation", "candidate", "list", *options):
            grouped.setdefault(row["#"], {})[row["resource provider"]] = frozenset(
                row["allocation"].split(","))
        return _in_order(grouped.values())

    cpu, mem = f"{w.cpu}=1", f"{w.mem}=512"
    in_tree = {w.root: frozenset([mem]), w.child: frozenset([cpu])}
    assert candidates("--resource", cpu, "--resource", mem) == _in_order(
        [in_tree, {w.flat: frozenset([cpu, mem])}])
    rows = cli("allocation", "candidate", "list", "--resource", cpu, "--required", w.trait)
    assert [(row["resource provider"], row["allocation"]) for row in rows] == [(w.child, cpu)]
    assert rows[0]["inventory used/capacity"] == f"{w.cpu}=0/4"
    assert rows[0]["traits"] == w.trait
    assert candidates("--resource", cpu, "--forbidden", w.trait, "--member-of", w.aggregate,
                      "--limit", "5") == [{w.flat: frozenset([cpu])}]
    # Isolated groups: the flat node would serve both groups from one provider.
    assert candidates("--group", "1", "--resource", cpu, "--group", "2", "--resource", mem,
                      "--group-policy", "isolate") == [in_tree]


def _in_order(candidates) -> list:
    """Candidates in one order, whatever the order they were answered in."""
    return sorted(candidates, key=lambda candidate: sorted(
        (provider, sorted(resources)) for provider, resources in candidate.items()))


# -- openstacksdk --------------------------------------------------------------------------

SDK_SCRIPT = r'''
import json, sys, uuid
import openstack
from openstack import exceptions

openstack.enable_logging(debug=True, http_debug=True, stream=sys.stderr)
conn = openstack.connection.Connection(
    auth_type="admin_token", auth={"endpoint": sys.argv[1], "token": sys.argv[2]})
placement = conn.placement
seen = {}

name = "sdk-" + uuid.uuid4().hex
rp = placement.create_resource_provider(name=name)
seen["uuid"] = rp.id
seen["created"] = {"name": rp.name, "generation": rp.generation,
                   "is_root": rp.root_provider_id == rp.id, "parent": rp.parent_provider_id}
placement.update_resource_provider(rp, name=name + "-renamed")
seen["renamed"] = placement.get_resource_provider(rp.id).name

placement.create_resource_provider_inventory(rp, "VCPU", total=8, allocation_ratio=2.0)
placement.create_resource_provider_inventory(rp, "MEMORY_MB", total=4096, reserved=512)
seen["inventories"] = {
    i.resource_class: {"total": i.total, "reserved": i.reserved,
                       "allocation_ratio": i.allocation_ratio, "max_unit": i.max_unit}
    for i in placement.resource_provider_inventories(rp)}
vcpu = placement.get_resource_provider_inventory("VCPU", rp)
seen["vcpu_generation"] = vcpu.resource_provider_generation
placement.update_resource_provider_inventory(
    vcpu, rp, resource_provider_generation=vcpu.resource_provider_generation, total=16)
vcpu = placement.get_resource_provider_inventory("VCPU", rp)
seen["vcpu_updated"] = {"total": vcpu.total, "allocation_ratio": vcpu.allocation_ratio}

rc = "CUSTOM_" + uuid.uuid4().hex.upper()
placement.create_resource_class(name=rc)
seen["class"] = {"created": rc, "read": placement.get_resource_class(rc).name}
seen["class_listed"] = rc in {c.name for c in placement.resource_classes()}
placement.delete_resource_class(rc)

trait = "CUSTOM_" + uuid.uuid4().hex.upper()
placement.create_trait(trait)
seen["trait"] = {"read": placement.get_trait(trait).id,
                 "listed": [t.name for t in placement.traits(name="startswith:" + trait)]}
placement.delete_trait(trait)
seen["trait_deleted"] = [t.name for t in placement.traits(name="in:" + trait)]

# The SDK sends the generation of the provider object it is given: a fresh one.
aggregate = str(uuid.uuid4())
placement.set_resource_provider_aggregates(placement.get_resource_provider(rp.id), aggregate)
seen["aggregates"] = placement.fetch_resource_provider_aggregates(rp).aggregates
placement.set_resource_provider_aggregates(placement.get_resource_provider(rp.id))
seen["aggregates_cleared"] = placement.fetch_resource_provider_aggregates(rp).aggregates

consumer = str(uuid.uuid4())
placement.update_allocation(
    consumer, allocations={rp.id: {"resources": {"VCPU": 2, "MEMORY_MB": 256}}},
    project_id="sdk-project", user_id="sdk-user", consumer_generation=None,
    consumer_type="INSTANCE")
allocation = placement.get_allocation(consumer)
seen["allocation"] = {
    "resources": {p: a["resources"] for p, a in allocation.allocations.items()},
    "consumer_generation": allocation.consumer_generation,
    "consumer_type": allocation.consumer_type,
    "project_id": allocation.project_id, "user_id": allocation.user_id}
seen["provider_usages"] = placement.fetch_resource_provider_usages(rp).usages
seen["project_usages"] = {u.consumer_type: {"count": u.consumer_count, "resources": u.resources}
                          for u in placement.usages("sdk-project")}
placement.delete_allocation(consumer)
seen["usages_after_delete"] = placement.fetch_resource_provider_usages(rp).usages

placement.delete_resource_provider_inventory("MEMORY_MB", rp)
seen["left"] = sorted(i.resource_class for i in placement.resource_provider_inventories(rp))
placement.delete_resource_provider(rp)
try:
    placement.get_resource_provider(rp.id)
    seen["gone"] = False
except exceptions.NotFoundException:
    seen["gone"] = True
print(json.dumps(seen))
'''


def test_openstacksdk_placement_proxy(clients_venv, placement_url, client_home):
    """Providers, inventories, classes, traits, aggregates, allocations and usages through
    ``conn.placement``, at the microversions the SDK picks per resource (none, 1.2, 1.6,
    1.19, 1.20, 1.38)."""
    result = subprocess.run(
        [str(clients_venv / "bin" / "python"), "-c", SDK_SCRIPT, placement_url, TOKEN],
        capture_output=True, text=True, env=client_env(clients_venv, client_home),
        timeout=CLI_TIMEOUT)
    if result.returncode != 0:
        lines = result.stderr.splitlines()
        raise CliError("the openstacksdk script failed:\n" + _exchange(result.stderr)
                       + "\n" + "\n".join(lines[-4:]))
    seen = json.loads(result.stdout)
    name = seen["created"]["name"]
    assert seen["created"] == {"name": name, "generation": 0, "is_root": True, "parent": None}
    assert seen["renamed"] == name + "-renamed"
    assert seen["inventories"] == {
        "VCPU": {"total": 8, "reserved": 0, "allocation_ratio": 2.0, "max_unit": MAX_INT},
        "MEMORY_MB": {"total": 4096, "reserved": 512, "allocation_ratio": 1.0,
                      "max_unit": MAX_INT}}
    assert seen["vcpu_generation"] == 2
    # PUT of one class replaces the record: what the body leaves out takes its default.
    assert seen["vcpu_updated"] == {"total": 16, "allocation_ratio": 1.0}
    assert seen["class"]["read"] == seen["class"]["created"] and seen["class_listed"]
    assert seen["trait"]["read"] == seen["trait"]["listed"][0]
    assert seen["trait"]["listed"] == [seen["trait"]["read"]]
    assert seen["trait_deleted"] == []
    assert len(seen["aggregates"]) == 1 and seen["aggregates_cleared"] == []
    assert seen["allocation"] == {
        "resources": {seen["uuid"]: {"VCPU": 2, "MEMORY_MB": 256}},
        "consumer_generation": 1, "consumer_type": "INSTANCE",
        "project_id": "sdk-project", "user_id": "sdk-user"}
    assert seen["provider_usages"] == {"VCPU": 2, "MEMORY_MB": 256}
    assert seen["project_usages"] == {"INSTANCE": {"count": 1,
                                                   "resources": {"VCPU": 2, "MEMORY_MB": 256}}}
    assert seen["usages_after_delete"] == {"VCPU": 0, "MEMORY_MB": 0}
    assert seen["left"] == ["VCPU"]
    assert seen["gone"] is True


SDK_CANDIDATES_SCRIPT = r'''
import json, sys
import openstack

openstack.enable_logging(debug=True, http_debug=True, stream=sys.stderr)
conn = openstack.connection.Connection(
    auth_type="admin_token", auth={"endpoint": sys.argv[1], "token": sys.argv[2]})
cpu, mem, trait = sys.argv[3:6]
seen = {}
for name, query in (("both", {"resources": f"{cpu}:1,{mem}:512"}),
                    ("required", {"resources": f"{cpu}:1", "required": trait})):
    seen[name] = [{"allocations": c.allocations, "mappings": c.mappings,
                   "provider_summaries": c.provider_summaries}
                  for c in conn.placement.allocation_candidates(**query)]
print(json.dumps(seen))
'''


def test_openstacksdk_allocation_candidates(clients_venv, placement_url, client_home):
    """``conn.placement.allocation_candidates``, at the SDK's microversion for them (1.34):
    one object per candidate, with its mappings and the summaries of its providers."""
    w = _candidate_world(placement_url)
    result = subprocess.run(
        [str(clients_venv / "bin" / "python"), "-c", SDK_CANDIDATES_SCRIPT, placement_url,
         TOKEN, w.cpu, w.mem, w.trait],
        capture_output=True, text=True, env=client_env(clients_venv, client_home),
        timeout=CLI_TIMEOUT)
    if result.returncode != 0:
        raise CliError("the openstacksdk script failed:\n" + _exchange(result.stderr)
                       + "\n" + "\n".join(result.stderr.splitlines()[-4:]))
    seen = json.loads(result.stdout)
    in_tree = {"allocations": {w.root: {"resources": {w.mem: 512}},
                               w.child: {"resources": {w.cpu: 1}}},
               "mappings": {"": sorted([w.root, w.child])}}
    flat = {"allocations": {w.flat: {"resources": {w.cpu: 1, w.mem: 512}}},
            "mappings": {"": [w.flat]}}
    both = [{"allocations": candidate["allocations"],
             "mappings": {suffix: sorted(providers)
                          for suffix, providers in candidate["mappings"].items()}}
            for candidate in seen["both"]]
    def canonical(candidate) -> str:
        return json.dumps(candidate, sort_keys=True)

    assert sorted(both, key=canonical) == sorted([in_tree, flat], key=canonical)
    assert seen["required"] == [{
        "allocations": {w.child: {"resources": {w.cpu: 1}}},
        "mappings": {"": [w.child]},
        "provider_summaries": {w.child: {
            "resources": {w.cpu: {"capacity": 4, "used": 0}}, "traits": [w.trait],
            "parent_provider_uuid": w.root, "root_provider_uuid": w.root}}}]


# -- injected faults (placement-ref serve --control): reported as real errors ------------


FAULTS = """
faults:
  - {method: GET, path: /resource_providers, status: 503}
  - {method: PUT, path: "/resource_providers/*", status: 409,
     code: placement.concurrent_update, detail: "Provider generation conflict."}
"""

SDK_FAULT_SCRIPT = """
import sys, openstack
from openstack import exceptions
conn = openstack.connect(auth_type="admin_token",
                         auth={"endpoint": sys.argv[1], "token": sys.argv[2]},
                         placement_endpoint_override=sys.argv[1])
try:
    list(conn.placement.resource_providers())
except exceptions.HttpException as error:
    print(error.status_code)
"""


@pytest.fixture(scope="module")
def faulty_url(clients_venv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("faulty")
    (folder / "faults.yaml").write_text(FAULTS)
    with running_server(f"sqlite:///{folder / 'placement.db'}",
                        extra=("--control", "--faults-file", str(folder / "faults.yaml"))
                        ) as server:
        yield server.url


def _journal(url: str, method: str) -> list[dict]:
    return httpx.get(f"{url}{PREFIX}/journal", params={"method": method},
                     headers={"x-auth-token": TOKEN}).json()["entries"]


def test_the_cli_reports_injected_errors(faulty_url, clients_venv, client_home):
    cli = Cli(faulty_url, None, clients_venv, client_home)
    assert "(HTTP 503)" in cli.fails("resource", "provider", "list")
    rp = str(uuid.uuid4())
    httpx.post(f"{faulty_url}/resource_providers", json={"uuid": rp, "name": rp},
               headers={"x-auth-token": TOKEN}).raise_for_status()
    message = cli.fails("resource", "provider", "set", rp, "--name", "renamed")
    assert "Provider generation conflict. (HTTP 409)" in message
    put = _journal(faulty_url, "PUT")[-1]
    assert put["injected"] and put["request"]["body"] == {"name": "renamed"}


def test_openstacksdk_raises_the_injected_status(faulty_url, clients_venv, client_home):
    result = subprocess.run(
        [str(clients_venv / "bin" / "python"), "-c", SDK_FAULT_SCRIPT, faulty_url, TOKEN],
        capture_output=True, text=True, env=client_env(clients_venv, client_home),
        timeout=CLI_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "503"
    assert _journal(faulty_url, "GET")[-1]["injected"]
