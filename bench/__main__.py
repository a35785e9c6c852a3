"""Benchmarks: the reference server beside upstream Placement 16.0.0, in one run.

    python -m bench [--peer-venv DIR] [--requests N] [--workers N] [--json FILE]
                    [--postgresql URL] [--mysql URL]

Both servers run on loopback with SQLite and the same number of workers; one client
process drives each with the same requests over keep-alive connections. The table gives
requests per second, p50 and p99 latency, peak server memory (the sum over the server's
processes of their peak resident size) and the ratio reference / upstream. The floor rows
send the same GET to a bare Connexion application (`bench/floor.py`) and to the reference
server, in alternating batches so that both meet the same load on the machine; the
floor's ratio is how many times the reference server's time per GET is the floor's.
With a PostgreSQL or MariaDB URL, the scale-out rows run the reference server on it with
1, 2 and 4 workers under many clients over many providers, and check afterwards that no
provider holds more than its capacity. The reset row times the control API's reset
(`--control`) after what a small client test leaves; upstream has no such operation. The figures are written as JSON too, so runs can be compared over time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference_impl.control import PREFIX as CONTROL_PREFIX  # noqa: E402
from tests.databases import BACKEND_VARIABLES, scratch_database  # noqa: E402
from tests.peer import running_peer  # noqa: E402
from tests.server_process import running_server  # noqa: E402

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}
CONCURRENT_CLIENTS = 8
# Scale-out: this many clients at once, each claim on one of this many providers, whose
# inventories hold less than all the claims ask for, so that claims race for the last
# units and the capacity checks are put to the test.
SCALE_CLIENTS = 32
SCALE_PROVIDERS = 200
SCALE_WORKERS = (1, 2, 4)
REPO = Path(__file__).resolve().parent.parent
# Each worker builds the application for every microversion before it answers: several
# at once on a busy machine take a while.
STARTUP_SECONDS = 300


@dataclass
class Figures:
    scenario: str
    server: str
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    peak_memory_mb: float = 0.0
    # What the scale-out checks found: answers by status, providers over capacity.
    statuses: dict[int, int] = field(default_factory=dict)
    over_allocated: int | None = None

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def summary(self) -> dict:
        return {"scenario": self.scenario, "server": self.server, "requests": self.requests,
                "per_second": round(self.per_second, 1), "p50_ms": round(self.percentile(0.5), 2),
                "p99_ms": round(self.percentile(0.99), 2),
                "peak_memory_mb": round(self.peak_memory_mb, 1),
                "statuses": self.statuses, "over_allocated": self.over_allocated}

    @property
    def checks(self) -> str:
        """The scale-out checks, as the table shows them."""
        if self.over_allocated is None:
            return ""
        errors = sum(count for status, count in self.statuses.items() if status >= 500)
        return (f"{self.statuses.get(204, 0)} claimed, {self.statuses.get(409, 0)} refused, "
                f"{errors} 5xx, {self.over_allocated} over capacity")


@dataclass
class Fixture:
    """Providers with room for every claim a scenario makes, and consumers to make them."""

    providers: list[str]
    consumers: list[str]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--peer-venv", default=os.environ.get("PLACEMENT_PEER_VENV"),
                        help="virtualenv holding openstack-placement==16.0.0 and gunicorn")
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    parser.add_argument("--workers", type=int, default=1, help="workers of each server")
    parser.add_argument("--postgresql", default=os.environ.get("PLACEMENT_TEST_POSTGRESQL_URL"),
                        help="a PostgreSQL URL: also measure the reference server on it")
    parser.add_argument("--mysql", default=os.environ.get("PLACEMENT_TEST_MYSQL_URL"),
                        help="a MariaDB (or MySQL) URL: also measure the reference server on it")
    parser.add_argument("--json", default="bench-results.json", help="where the figures go")
    arguments = parser.parse_args(argv)

    results: list[Figures] = []
    try:
        _run(arguments, results)
    finally:
        # Whatever was measured is shown, also when a later part failed.
        _print_table(results)
    document = {"machine": _machine(), "workers": arguments.workers,
                "results": [figures.summary() for figures in results]}
    Path(arguments.json).write_text(json.dumps(document, indent=2))
    print(f"\nfigures written to {arguments.json}")
    return 0


def _run(arguments: argparse.Namespace, results: list[Figures]) -> None:
    with tempfile.TemporaryDirectory(prefix="placement-bench-") as scratch:
        folder = Path(scratch)
        servers = {"reference": lambda: _reference(f"sqlite:///{folder / 'ref.db'}",
                                                   arguments.workers)}
        if arguments.peer_venv:
            # Resolved here: the peer starts in a folder of its own.
            peer_venv = Path(arguments.peer_venv).resolve()
            servers["upstream"] = lambda: _upstream(peer_venv, folder / "peer", arguments.workers)
        for name, start in servers.items():
            with start() as (url, pid):
                results += _measure(name, url, pid, arguments.requests)
                if name == "reference":
                    with _floor() as floor:
                        results += _beside_floor((url, pid), floor, arguments.requests)
        results.append(_resets(f"sqlite:///{folder / 'reset.db'}", arguments.requests))
        for backend, server_url in (("postgresql", arguments.postgresql),
                                    ("mysql", arguments.mysql)):
            if server_url:
                results += _scaling(backend, server_url, arguments.requests)


@contextlib.contextmanager
def _reference(db_url: str, workers: int) -> Iterator[tuple[str, int]]:
    with running_server(db_url, workers=workers, startup_timeout=STARTUP_SECONDS) as server:
        yield server.url, server.process.pid


@contextlib.contextmanager
def _upstream(venv: Path, workdir: Path, workers: int) -> Iterator[tuple[str, int]]:
    with running_peer(venv, workdir, workers=workers) as peer:
        yield peer.url, peer.process.pid


@contextlib.contextmanager
def _floor() -> Iterator[tuple[str, int]]:
    """`bench/floor.py` under uvicorn, with the settings `placement-ref serve` uses."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.floor:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "info"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{url}/allocations/floor", timeout=2)
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the floor application did not start")
        yield url, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


FLOOR_SCENARIO = "GET /allocations/{consumer}, by turns"
FLOOR_BATCH = 25


def _beside_floor(reference: tuple[str, int], floor: tuple[str, int],
                  count: int) -> list[Figures]:
    """The same GET to the reference server and to the floor, in alternating batches."""
    (reference_url, reference_pid), (floor_url, floor_pid) = reference, floor
    with httpx.Client(base_url=reference_url, headers=HEADERS, timeout=60) as client:
        fixture = _fixture(client, providers=1, consumers=1)
        method, path, body = _claim(fixture.providers, fixture.consumers[0], None)
        client.request(method, path, json=body).raise_for_status()
    get = [("GET", path, None)] * FLOOR_BATCH
    figures = {"reference": [], "floor": []}
    with httpx.Client(base_url=reference_url, headers=HEADERS, timeout=60) as to_reference, \
            httpx.Client(base_url=floor_url, headers=HEADERS, timeout=60) as to_floor:
        for _ in range(max(count // FLOOR_BATCH, 1)):
            figures["reference"].append(_sequential(to_reference, "reference", "", get))
            figures["floor"].append(_sequential(to_floor, "floor", "", get))
    return [Figures(FLOOR_SCENARIO, server, sum(f.requests for f in batches),
                    sum(f.seconds for f in batches),
                    [ms for f in batches for ms in f.latencies_ms], _peak_memory_mb(pid))
            for (server, batches), pid in zip(figures.items(), (reference_pid, floor_pid))]


RESET_SCENARIO = "reset (control API), after a test"
# Each reset follows a few requests that make something for it to delete.
RESETS_PER_REQUESTS = 10


def _resets(db_url: str, count: int) -> Figures:
    """`POST /_placement_ref/reset` on a reference server with `--control`, each after
    what a small client test leaves: a provider with inventory and a consumer's claim."""
    with running_server(db_url, extra=("--control",),
                        startup_timeout=STARTUP_SECONDS) as server, \
            httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
        latencies = []
        for _ in range(max(count // RESETS_PER_REQUESTS, 1)):
            fixture = _fixture(client, providers=1, consumers=1)
            method, path, body = _claim(fixture.providers, fixture.consumers[0], None)
            client.request(method, path, json=body).raise_for_status()
            sent = time.perf_counter()
            client.post(f"{CONTROL_PREFIX}/reset").raise_for_status()
            latencies.append((time.perf_counter() - sent) * 1000)
        return Figures(RESET_SCENARIO, "reference", len(latencies), sum(latencies) / 1000,
                       latencies, _peak_memory_mb(server.process.pid))


def _measure(name: str, url: str, pid: int, count: int) -> list[Figures]:
    """Every scenario against one running server."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
        single = _fixture(client, providers=1, consumers=count)
        several = _fixture(client, providers=3, consumers=count)
        # In this order: each scenario works on what the ones before it left.
        scenarios: list[Callable[[], Figures]] = [
            lambda: _sequential(client, name, "PUT new consumer, 1 provider",
                                [_claim(single.providers, c, None) for c in single.consumers]),
            lambda: _sequential(client, name, "PUT new consumer, 3 providers",
                                [_claim(several.providers, c, None) for c in several.consumers]),
            lambda: _sequential(client, name, "replace-PUT existing consumer",
                                [_claim(single.providers, c, 1, amount=2)
                                 for c in single.consumers]),
            lambda: _sequential(client, name, "GET /allocations/{consumer}",
                                [("GET", f"/allocations/{c}", None) for c in single.consumers]),
            lambda: _sequential(client, name, "GET provider usages",
                                [("GET", f"/resource_providers/{single.providers[0]}/usages",
                                  None)] * count),
            lambda: _sequential(client, name, "POST /allocations, 10 consumers",
                                _batches(several.providers, count // 10)),
            lambda: _sequential(client, name, "DELETE /allocations/{consumer}",
                                [("DELETE", f"/allocations/{c}", None)
                                 for c in single.consumers]),
            lambda: _concurrent(url, name, _fixture(client, 1, count).providers, count),
        ]
        results = []
        for run in scenarios:
            figures = run()
            figures.peak_memory_mb = _peak_memory_mb(pid)
            results.append(figures)
    results.append(_suite_time(name, url, pid))
    # Last: its thousand trees would slow every scenario after it.
    results.append(_candidates(name, url, pid, count))
    return [figures for figures in results if figures is not None]


# Allocation candidates: compute trees (a root and two NUMA children with CPU and memory),
# each group of them sharing the disk of one storage provider through an aggregate.
CANDIDATE_TREES = 1000
TREES_PER_SHARING_PROVIDER = 50
CANDIDATES_SCENARIO = f"GET candidates, 2 groups, {CANDIDATE_TREES} trees"
# Two granular groups: CPU and memory from one NUMA node, disk from the sharing provider
# of the tree's aggregate; two candidates per tree.
CANDIDATES_QUERY = ("/allocation_candidates?resources1=VCPU:2,MEMORY_MB:1024"
                    "&resources2=DISK_GB:10&group_policy=none")


def _candidates(name: str, url: str, pid: int, count: int) -> Figures:
    """The candidates of a 2-group request over every tree, once the trees are built."""
    with httpx.Client(base_url=url, headers=HEADERS, timeout=600) as client:
        expected = _compute_trees(client)
        figures = _sequential(client, name, CANDIDATES_SCENARIO,
                              [("GET", CANDIDATES_QUERY, None)] * max(count // 30, 3))
        found = len(client.get(CANDIDATES_QUERY).json()["allocation_requests"])
        if found != expected:
            raise RuntimeError(f"{name}: {found} candidates, {expected} expected")
    figures.peak_memory_mb = _peak_memory_mb(pid)
    return figures


def _compute_trees(client: httpx.Client) -> int:
    """Build the trees and the sharing providers; return how many candidates they offer."""
    def put(path: str, body: dict, generation: int = 0) -> int:
        response = client.put(path, json={"resource_provider_generation": generation, **body})
        response.raise_for_status()
        return response.json()["resource_provider_generation"]

    def provider(parent: str | None = None) -> str:
        response = client.post("/resource_providers", json={
            "name": f"bench-{uuid.uuid4()}", "parent_provider_uuid": parent})
        response.raise_for_status()
        return response.json()["uuid"]

    numa = {"VCPU": {"total": 16}, "MEMORY_MB": {"total": 65536}}
    for first in range(0, CANDIDATE_TREES, TREES_PER_SHARING_PROVIDER):
        aggregate = str(uuid.uuid4())
        storage = provider()
        generation = put(f"/resource_providers/{storage}/inventories",
                         {"inventories": {"DISK_GB": {"total": 100000}}})
        generation = put(f"/resource_providers/{storage}/traits",
                         {"traits": ["MISC_SHARES_VIA_AGGREGATE"]}, generation)
        put(f"/resource_providers/{storage}/aggregates", {"aggregates": [aggregate]}, generation)
        for _ in range(min(TREES_PER_SHARING_PROVIDER, CANDIDATE_TREES - first)):
            root = provider()
            put(f"/resource_providers/{root}/aggregates", {"aggregates": [aggregate]})
            for _ in range(2):
                put(f"/resource_providers/{provider(root)}/inventories", {"inventories": numa})
    return 2 * CANDIDATE_TREES


def _fixture(client: httpx.Client, providers: int, consumers: int) -> Fixture:
    uuids = []
    for _ in range(providers):
        response = client.post("/resource_providers", json={"name": f"bench-{uuid.uuid4()}"})
        rp = response.json()["uuid"]
        client.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 10 * consumers + 100}}})
        uuids.append(rp)
    return Fixture(uuids, [str(uuid.uuid4()) for _ in range(consumers)])


def _claim(providers: list[str], consumer: str, generation: int | None, amount: int = 1):
    return ("PUT", f"/allocations/{consumer}", {
        "allocations": {rp: {"resources": {"VCPU": amount}} for rp in providers},
        "project_id": "bench", "user_id": "bench", "consumer_generation": generation,
        "consumer_type": "INSTANCE"})


def _batches(providers: list[str], count: int):
    return [("POST", "/allocations", {
        str(uuid.uuid4()): {"allocations": {providers[0]: {"resources": {"VCPU": 1}}},
                            "project_id": "bench", "user_id": "bench",
                            "consumer_generation": None, "consumer_type": "INSTANCE"}
        for _ in range(10)}) for _ in range(max(count, 1))]


def _sequential(client: httpx.Client, server: str, scenario: str, requests) -> Figures:
    latencies = []
    started = time.perf_counter()
    for method, path, body in requests:
        sent = time.perf_counter()
        response = client.request(method, path, json=body)
        latencies.append((time.perf_counter() - sent) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"{server}: {method} {path} -> {response.status_code} "
                               f"{response.text[:300]}")
    return Figures(scenario, server, len(latencies), time.perf_counter() - started, latencies)


def _concurrent(url: str, server: str, providers: list[str], count: int) -> Figures:
    per_client = max(count // CONCURRENT_CLIENTS, 1)
    figures = _clients(url, server, f"{CONCURRENT_CLIENTS} concurrent writers, 1 provider",
                       [[_claim(providers, str(uuid.uuid4()), None) for _ in range(per_client)]
                        for _ in range(CONCURRENT_CLIENTS)])
    unexpected = set(figures.statuses) - {204, 409}
    if unexpected:
        raise RuntimeError(f"{server}: PUT -> {sorted(unexpected)}")
    return figures


def _clients(url: str, server: str, scenario: str, plans: list[list]) -> Figures:
    """A client per plan, in threads of this one process, each with its own keep-alive
    connection, all starting at once; every answer is counted by its status."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = threading.Barrier(len(plans))

    def send(plan) -> None:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
            start.wait()
            for method, path, body in plan:
                sent = time.perf_counter()
                status = client.request(method, path, json=body).status_code
                latencies.append((time.perf_counter() - sent) * 1000)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=send, args=(plan,)) for plan in plans]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Figures(scenario, server, len(latencies), time.perf_counter() - started, latencies,
                   statuses=dict(sorted(statuses.items())))


def _suite_time(server: str, url: str, pid: int) -> Figures | None:
    """The wall time of the whole conformance suite, all microversions, against the server."""
    command = shutil.which("placement-conformance") or shutil.which(
        "placement-conformance", path=str(Path(sys.executable).parent))
    if command is None:
        return None
    started = time.perf_counter()
    subprocess.run([command, "run", "--url", url, "--token", "admin"],
                   capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    return Figures("conformance suite (wall time)", server, 1, seconds, [seconds * 1000],
                   _peak_memory_mb(pid))


def _scaling(backend: str, server_url: str, count: int) -> list[Figures]:
    """The reference server on a database server with 1, 2 and 4 workers: many clients
    claiming on many providers at once, then the check that none went over capacity."""
    results = []
    os.environ[BACKEND_VARIABLES[backend]] = server_url
    label = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}[backend]
    with tempfile.TemporaryDirectory() as scratch:
        for workers in SCALE_WORKERS:
            with scratch_database(backend, Path(scratch)) as db_url, \
                    running_server(db_url, workers=workers,
                                   startup_timeout=STARTUP_SECONDS) as server:
                with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                    # Room for about two claims in three.
                    capacity = max(1, 2 * count // (3 * SCALE_PROVIDERS))
                    providers = _providers(client, SCALE_PROVIDERS, capacity)
                    figures = _claims(server.url, f"reference, {label}, {workers} workers",
                                      providers, count)
                    figures.over_allocated = _over_allocated(client, providers)
                figures.peak_memory_mb = _peak_memory_mb(server.process.pid)
                results.append(figures)
    return results


def _providers(client: httpx.Client, count: int, capacity: int) -> list[str]:
    uuids = []
    for _ in range(count):
        rp = client.post("/resource_providers", json={"name": f"bench-{uuid.uuid4()}"}
                         ).json()["uuid"]
        client.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": capacity}}}).raise_for_status()
        uuids.append(rp)
    return uuids


def _claims(url: str, server: str, providers: list[str], count: int) -> Figures:
    """`SCALE_CLIENTS` clients at once, each claim one unit of a provider picked at random."""
    per_client = max(count // SCALE_CLIENTS, 1)
    picks = random.Random(0)
    return _clients(url, server, f"{SCALE_CLIENTS} clients, {len(providers)} providers",
                    [[_claim([picks.choice(providers)], str(uuid.uuid4()), None)
                      for _ in range(per_client)] for _ in range(SCALE_CLIENTS)])


def _over_allocated(client: httpx.Client, providers: list[str]) -> int:
    """How many providers use more of a class than their inventory admits."""
    over = 0
    for rp in providers:
        usages = client.get(f"/resource_providers/{rp}/usages").json()["usages"]
        inventories = client.get(f"/resource_providers/{rp}/inventories").json()["inventories"]
        over += any(used > (inventories[rc]["total"] - inventories[rc]["reserved"])
                    * inventories[rc]["allocation_ratio"] for rc, used in usages.items())
    return over


def _peak_memory_mb(leader: int) -> float:
    """The sum of the peak resident sizes (VmHWM) of the processes in the leader's group."""
    total_kb = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, ValueError):
            if os.getpgid(int(status.parent.name)) != leader:
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def _print_table(results: list[Figures]) -> None:
    upstream = {f.scenario: f for f in results if f.server == "upstream"}
    reference = {f.scenario: f for f in results if f.server == "reference"}
    print(f"{'scenario':40} {'server':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'peak MB':>8} {'ratio':>7}")
    for figures in results:
        peer = upstream.get(figures.scenario)
        ratio = ""
        if figures.server == "floor" and figures.scenario in reference:
            ratio = f"{figures.per_second / reference[figures.scenario].per_second:.2f}x"
        elif peer is not None and figures.server != "upstream" and peer.per_second:
            if figures.scenario.startswith("conformance"):
                ratio = f"{peer.seconds / figures.seconds:.1f}x"
            else:
                ratio = f"{figures.per_second / peer.per_second:.1f}x"
        if figures.scenario.startswith("conformance"):
            timing = f"{'':8} {figures.seconds:7.1f}s {'':8}"
        else:
            timing = (f"{figures.per_second:8.1f} {figures.percentile(0.5):8.2f} "
                      f"{figures.percentile(0.99):8.2f}")
        print(f"{figures.scenario:40} {figures.server:34} {timing} "
              f"{figures.peak_memory_mb:8.1f} {ratio:>7}  {figures.checks}".rstrip())


def _machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor()}


if __name__ == "__main__":
    sys.exit(main())
