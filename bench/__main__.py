"""Benchmarks: the reference server beside upstream Placement 16.0.0, in one run.

    python -m bench [--peer-venv DIR] [--requests N] [--workers N] [--json FILE]
                    [--postgresql URL]

Both servers run on loopback with SQLite and the same number of workers; one client
process drives each with the same requests over keep-alive connections. The table gives
requests per second, p50 and p99 latency, peak server memory (the sum over the server's
processes of their peak resident size) and the ratio reference / upstream. The figures
are written as JSON too, so runs can be compared over time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
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

from tests.databases import scratch_database  # noqa: E402
from tests.peer import running_peer  # noqa: E402
from tests.server_process import running_server  # noqa: E402

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}
CONCURRENT_CLIENTS = 8


@dataclass
class Figures:
    scenario: str
    server: str
    requests: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    peak_memory_mb: float = 0.0

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
                "peak_memory_mb": round(self.peak_memory_mb, 1)}


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
    parser.add_argument("--json", default="bench-results.json", help="where the figures go")
    arguments = parser.parse_args(argv)

    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="placement-bench-") as scratch:
        folder = Path(scratch)
        servers = {"reference": lambda: _reference(f"sqlite:///{folder / 'ref.db'}",
                                                   arguments.workers)}
        if arguments.peer_venv:
            servers["upstream"] = lambda: _upstream(Path(arguments.peer_venv), folder / "peer",
                                                    arguments.workers)
        for name, start in servers.items():
            with start() as (url, pid):
                results += _measure(name, url, pid, arguments.requests)
        if arguments.postgresql:
            results += _scaling(arguments.postgresql, arguments.requests)

    _print_table(results)
    document = {"machine": _machine(), "workers": arguments.workers,
                "results": [figures.summary() for figures in results]}
    Path(arguments.json).write_text(json.dumps(document, indent=2))
    print(f"\nfigures written to {arguments.json}")
    return 0


@contextlib.contextmanager
def _reference(db_url: str, workers: int) -> Iterator[tuple[str, int]]:
    with running_server(db_url, workers=workers) as server:
        yield server.url, server.process.pid


@contextlib.contextmanager
def _upstream(venv: Path, workdir: Path, workers: int) -> Iterator[tuple[str, int]]:
    with running_peer(venv, workdir, workers=workers) as peer:
        yield peer.url, peer.process.pid


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
    return [figures for figures in results if figures is not None]


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
    """Clients in threads of this one process, each with its own keep-alive connection."""
    latencies: list[float] = []
    per_client = max(count // CONCURRENT_CLIENTS, 1)
    start = threading.Barrier(CONCURRENT_CLIENTS)

    def write() -> None:
        with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as client:
            claims = [_claim(providers, str(uuid.uuid4()), None) for _ in range(per_client)]
            start.wait()
            for _, path, body in claims:
                sent = time.perf_counter()
                response = client.put(path, json=body)
                latencies.append((time.perf_counter() - sent) * 1000)
                if response.status_code not in (204, 409):
                    raise RuntimeError(f"{server}: PUT -> {response.status_code}")

    threads = [threading.Thread(target=write) for _ in range(CONCURRENT_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Figures(f"{CONCURRENT_CLIENTS} concurrent writers, 1 provider", server,
                   len(latencies), time.perf_counter() - started, latencies)


def _suite_time(server: str, url: str, pid: int) -> Figures | None:
    """The wall time of the whole conformance suite, all microversions, against the server."""
    command = shutil.which("placement-conformance")
    if command is None:
        return None
    started = time.perf_counter()
    subprocess.run([command, "run", "--url", url, "--token", "admin"],
                   capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    return Figures("conformance suite (wall time)", server, 1, seconds, [seconds * 1000],
                   _peak_memory_mb(pid))


def _scaling(postgresql_url: str, count: int) -> list[Figures]:
    """The reference server on PostgreSQL with 1, 2 and 4 workers, under concurrent writers."""
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for workers in (1, 2, 4):
            os.environ["PLACEMENT_TEST_POSTGRESQL_URL"] = postgresql_url
            with scratch_database("postgresql", Path(scratch)) as db_url, \
                    running_server(db_url, workers=workers) as server:
                with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                    providers = _fixture(client, 1, count).providers
                figures = _concurrent(server.url, f"reference, PostgreSQL, {workers} workers",
                                      providers, count)
                figures.peak_memory_mb = _peak_memory_mb(server.process.pid)
                results.append(figures)
    return results


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
    print(f"{'scenario':40} {'server':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'peak MB':>8} {'ratio':>7}")
    for figures in results:
        peer = upstream.get(figures.scenario)
        ratio = ""
        if peer is not None and figures.server != "upstream" and peer.per_second:
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
              f"{figures.peak_memory_mb:8.1f} {ratio:>7}")


def _machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor()}


if __name__ == "__main__":
    sys.exit(main())
