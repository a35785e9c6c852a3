"""`drift live`: does a deployment answer as the spec says, at each microversion it serves?

For each microversion, a short scripted walk through the API: it creates a resource
provider (named `conformance-drift-<run>-<microversion>`, so that leftovers can be traced),
gives it inventories, claims and reads allocations and usages, asks for something that
does not exist, and deletes what it made; a final sweep deletes whatever a failed walk
left behind. Every response is checked against the spec projected to the request's
microversion: its status must be one the operation declares, and its body must be what
that response describes. Operations that do not exist at a microversion are not sent.
An answer the deployment's front end gave instead of Placement (`conformance.front_end`)
is not checked: it is reported as not reached, which fails the check only when the
target says the deployment must accept every request.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

import placement_spec
from placement_spec import Microversion, resolve
from placement_spec.microversion import describe

from conformance.allocation_bodies import put_body
from conformance.drift.findings import Finding, Kind
from conformance.drift.surface import json_body_schema, operation_name
from conformance.drift.validation import problems
from conformance.progress import MicroversionProgress
from conformance.front_end import Policy, refusal
from conformance.target import Target

PROJECT, USER = "conformance-drift-project", "conformance-drift-user"


@dataclass(frozen=True)
class Mismatch:
    """One response the spec does not describe."""

    version: Microversion
    operation: str
    kind: Kind
    problem: str


def check(target: Target, versions: list[Microversion],
          progress: MicroversionProgress | None = None) -> list[Finding]:
    """Walk the API at each of `versions` and report, per operation and problem, the
    microversions whose responses the spec does not describe; show `progress` if given."""
    run = uuid.uuid4().hex[:8]
    progress = progress or MicroversionProgress(None, 0)
    mismatches: list[Mismatch] = []
    for version in versions:
        with target.client(version) as client:
            walk = _Walk(client, version, f"conformance-drift-{run}-{version}", progress,
                         target.front_end_refusals)
            progress.started(version)
            progress.phase("walk", None)
            try:
                walk.run()
            finally:
                walk.clean_up()
            progress.finished(len(walk.mismatches))
            mismatches += walk.mismatches
    return _findings(mismatches, target.front_end_refusals)


def _findings(mismatches: list[Mismatch], front_end_refusals: Policy) -> list[Finding]:
    versions: dict[tuple[str, Kind, str], set[Microversion]] = defaultdict(set)
    for mismatch in mismatches:
        versions[(mismatch.operation, mismatch.kind, mismatch.problem)].add(mismatch.version)
    return [Finding(operation, kind, "response", describe(found), problem,
                    breaking=kind is not Kind.NOT_REACHED or front_end_refusals is Policy.FAIL)
            for (operation, kind, problem), found in versions.items()]


def response_problems(document: dict, operation: dict, response: httpx.Response
                      ) -> list[tuple[Kind, str]]:
    """What the projected spec `document` does not describe about `response` to `operation`."""
    declared = operation["responses"].get(str(response.status_code))
    if declared is None:
        listed = ", ".join(sorted(map(str, operation["responses"])))
        return [(Kind.RESPONSE_STATUS, f"status {response.status_code} is not one of {listed}")]
    schema = json_body_schema(resolve(document, declared))
    if schema is None:
        if response.content:
            return [(Kind.RESPONSE_BODY, f"status {response.status_code} has a body; "
                                         "the spec describes none")]
        return []
    try:
        body = response.json()
    except ValueError:
        return [(Kind.RESPONSE_BODY, f"status {response.status_code}: the body is not JSON")]
    return [(Kind.RESPONSE_BODY, f"status {response.status_code} {problem}")
            for problem in problems(document, schema, body)]


@dataclass
class _Walk:
    """One microversion's walk: its requests, what they made, and what was wrong."""

    client: httpx.Client
    version: Microversion
    name: str
    progress: MicroversionProgress
    front_end_refusals: Policy
    provider: str = field(default_factory=lambda: str(uuid.uuid4()))
    consumer: str = field(default_factory=lambda: str(uuid.uuid4()))
    mismatches: list[Mismatch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.document = placement_spec.project(self.version)

    def run(self) -> None:
        provider = "/resource_providers/{uuid}"
        self.send("GET", "/")
        self.send("POST", "/resource_providers", {"name": self.name, "uuid": self.provider})
        self.send("GET", provider)
        self.send("GET", "/resource_providers", query={"name": self.name})
        self.send("PUT", provider, {"name": self.name})
        self.send("PUT", provider + "/inventories", {
            "resource_provider_generation": self.generation(),
            "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 2048, "max_unit": 1024}},
        })
        self.send("GET", provider + "/inventories")
        self.send("POST", provider + "/inventories", {"resource_class": "DISK_GB", "total": 100})
        disk = provider + "/inventories/{resource_class}"
        self.send("GET", disk, resource_class="DISK_GB")
        self.send("PUT", disk, {"resource_provider_generation": self.generation(), "total": 200},
                  resource_class="DISK_GB")
        self.send("GET", "/resource_classes")
        self.send("GET", "/resource_classes/{name}", name="VCPU")
        self.claim_and_release()
        self.send("GET", "/resource_providers/{uuid}", uuid=str(uuid.uuid4()))  # a 404
        self.send("DELETE", disk, resource_class="DISK_GB")
        self.send("DELETE", provider + "/inventories")
        self.send("DELETE", provider)

    def claim_and_release(self) -> None:
        consumer = "/allocations/{consumer_uuid}"
        self.send("PUT", consumer, self.allocation_body(consumer_generation=None))
        self.send("GET", consumer)
        self.send("GET", "/resource_providers/{uuid}/allocations")
        self.send("GET", "/resource_providers/{uuid}/usages")
        self.send("GET", "/usages", query={"project_id": PROJECT})
        if self.exists("POST", "/allocations"):
            current = self.send("GET", consumer)
            generation = _json(current).get("consumer_generation")
            self.send("POST", "/allocations",
                      {self.consumer: self.allocation_body(consumer_generation=generation)})
        self.send("DELETE", consumer)
        self.send("GET", consumer)

    def allocation_body(self, consumer_generation: int | None) -> dict[str, Any]:
        """A claim of 1 VCPU on the walk's provider, in this microversion's form."""
        return put_body(self.version, {self.provider: {"VCPU": 1}}, project_id=PROJECT,
                        user_id=USER, consumer_generation=consumer_generation,
                        consumer_type="INSTANCE")

    def generation(self) -> int:
        return _json(self.send("GET", "/resource_providers/{uuid}")).get("generation", 0)

    def exists(self, method: str, template: str) -> bool:
        return method.lower() in self.document["paths"].get(template, {})

    def send(self, method: str, template: str, body: Any = None, *,
             query: dict | None = None, **values: str) -> httpx.Response | None:
        """Send one request if its operation exists at this microversion, and record
        what the spec does not describe about the answer."""
        if not self.exists(method, template):
            return None
        operation = operation_name(method, template)
        path = template.format(**{"uuid": self.provider, "consumer_uuid": self.consumer,
                                  **values})
        try:
            response = self.client.request(method, path, json=body, params=query)
        except httpx.HTTPError as error:
            self.mismatches.append(Mismatch(self.version, operation, Kind.REQUEST_FAILED,
                                            f"{type(error).__name__}: {error}"))
            return None
        refused = refusal(response.status_code, response.headers, response.content)
        if refused is not None:
            self.mismatches.append(Mismatch(self.version, operation, Kind.NOT_REACHED,
                                            refused.verdict(self.front_end_refusals)))
            return response
        spec_operation = self.document["paths"][template][method.lower()]
        for kind, problem in response_problems(self.document, spec_operation, response):
            self.mismatches.append(Mismatch(self.version, operation, kind, problem))
        self.progress.answered(operation, 1, len(self.mismatches))
        return response

    def clean_up(self) -> None:
        """Delete what a walk that stopped half-way left; answers are not checked."""
        for path in (f"/allocations/{self.consumer}", f"/resource_providers/{self.provider}"):
            try:
                self.client.delete(path)
            except httpx.HTTPError:
                pass


def _json(response: httpx.Response | None) -> dict:
    """The JSON object a response carries, or {} (its problems are reported elsewhere)."""
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
