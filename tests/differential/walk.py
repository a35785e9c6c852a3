"""One seed's walk: the same requests to two servers, and the answers that differ."""

from __future__ import annotations

import difflib
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx

from placement_spec import MAXIMUM, MalformedVersion, Microversion
from tests.differential import strict
from tests.differential.messages import Answer, Request
from tests.differential.normalise import Normalised, normalise, show
from tests.differential.repertoire import next_plan
from tests.differential.variants import maybe_twist
from tests.differential.world import SIDES, UPSTREAM, World
from tests.parity_script import new_client


@dataclass(frozen=True)
class Difference:
    """Two answers to one request that differ, with what reproduces them."""

    seed: int
    step: int
    request: str
    upstream: Normalised
    reference: Normalised

    def describe(self) -> str:
        lines = [f"seed {self.seed}, step {self.step}: {self.request}"]
        if self.upstream.status != self.reference.status:
            lines.append(f"  status: upstream {self.upstream.status} | "
                         f"reference {self.reference.status}")
        else:
            lines.append(f"  status: {self.upstream.status} on both")
        for name in sorted(set(self.upstream.headers) | set(self.reference.headers)):
            theirs, ours = self.upstream.headers.get(name), self.reference.headers.get(name)
            if theirs != ours:
                lines.append(f"  header {name}: upstream {theirs!r} | reference {ours!r}")
        if self.upstream.body != self.reference.body:
            lines.append("  body (- upstream, + reference):")
            lines += [f"    {line}" for line in difflib.unified_diff(
                show(self.upstream.body).splitlines(), show(self.reference.body).splitlines(),
                lineterm="", n=2)][2:]
        return "\n".join(lines)


@dataclass
class Outcome:
    """What one seed's walk did."""

    seed: int
    sent: int = 0
    differences: list[Difference] = field(default_factory=list)
    allowed: list[tuple[int, str]] = field(default_factory=list)  # (step, strict rule)
    # What the walk exercised: (method, purpose, upstream's status) -> how often.
    exercised: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Servers:
    """Where the two servers of a walk answer, and whether the reference one is strict."""

    upstream: str
    reference: str
    strict: bool = False

    def url(self, side: str) -> str:
        return self.upstream if side == UPSTREAM else self.reference


def walk(seed: int, requests: int, servers: Servers) -> Outcome:
    """Send `requests` requests of seed `seed`'s walk to both servers; compare each answer.

    Both servers must start from empty databases: the walk's model starts empty too.
    """
    world = World(random.Random(seed), strict=servers.strict)
    outcome = Outcome(seed)
    clients = {side: new_client(servers.url(side)) for side in SIDES}
    plan = iter(())
    try:
        while outcome.sent < requests:
            request = next(plan, None)
            if request is None:
                plan = next_plan(world)
                continue
            request = maybe_twist(world.rng, request)
            outcome.sent += 1
            _step(world, request, outcome, clients, servers)
    finally:
        for client in clients.values():
            client.close()
    return outcome


def _step(world: World, request: Request, outcome: Outcome,
          clients: dict[str, httpx.Client], servers: Servers) -> None:
    situation = strict.Situation(request, _version(request.version),
                                 strict.leftovers(world, request))
    answers = {side: _send(clients[side], world, request, side) for side in SIDES}
    outcome.exercised[request.method, request.purpose + _twists(request),
                      answers[UPSTREAM].status] += 1
    if request.learn:
        # First, so that a provider a server just named itself is known by its label.
        request.learn(world, answers)
    names_generated = (world.names_generated_provider(request.path)
                       or world.names_generated_provider(request.payload()))
    upstream, reference = (normalise(answers[side], servers.url(side),
                                     world.generated_uuids(side), names_generated)
                           for side in SIDES)
    if upstream != reference:
        rule = strict.allowed(situation, upstream, reference) if servers.strict else None
        if rule:
            outcome.allowed.append((outcome.sent, rule.situation))
            for uuid in request.consumers:
                if uuid in world.consumers:
                    world.consumers[uuid].retired = True
        else:
            outcome.differences.append(Difference(
                outcome.seed, outcome.sent, request.describe() + _twists(request),
                upstream, reference))


def _send(client: httpx.Client, world: World, request: Request, side: str) -> Answer:
    payload = request.payload()
    content = (request.raw if request.raw is not None
               else world.render(payload, side).encode() if payload is not None else None)
    try:
        response = client.request(request.method, world.render(request.path, side),
                                  headers=request.headers(), content=content)
    except httpx.TransportError as error:
        return Answer(0, {}, f"no answer: {error!r}")
    return Answer(response.status_code, dict(response.headers.items()), response.text)


def _version(header: str | None) -> Microversion | None:
    """The microversion a header asks for; None when it is not a plain one."""
    if header is None:
        return Microversion(1, 0)
    words = header.split()
    if len(words) != 2 or words[0] != "placement":
        return None
    if words[1] == "latest":
        return MAXIMUM
    try:
        return Microversion.parse(words[1])
    except MalformedVersion:
        return None


def _twists(request: Request) -> str:
    return f"  [twist: {', '.join(request.twists)}]" if request.twists else ""


def coverage(outcomes: list[Outcome]) -> str:
    """How often each kind of request got each status from upstream, over all seeds."""
    total: Counter = Counter()
    for outcome in outcomes:
        total.update(outcome.exercised)
    return "\n".join(f"{count:6}  {status}  {method} {purpose}"
                     for (method, purpose, status), count in sorted(total.items()))


def summary(outcomes: list[Outcome]) -> str:
    """One line per seed, then every difference."""
    lines = [f"seed {o.seed}: {o.sent} requests, {len(o.differences)} difference(s)"
             + (f", {len(o.allowed)} allowed by --strict" if o.allowed else "")
             for o in outcomes]
    found = [d for o in outcomes for d in o.differences]
    lines.append(f"{sum(o.sent for o in outcomes)} requests over {len(outcomes)} seed(s): "
                 f"{len(found)} difference(s)")
    return "\n\n".join(["\n".join(lines), *(d.describe() for d in found)])

