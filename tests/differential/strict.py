"""The differences allowed when the reference server runs with `--strict`, and only then.

By default the reference server answers as upstream 16.0.0 does, quirks included, and a
walk allows no difference at all. With `placement-ref serve --strict` it follows the
api-ref where upstream has a known bug (README.md, "Upstream's quirks, and --strict"); the
walk then
allows exactly the differences of this table, each keyed by the situation it belongs to
and checked on both sides, and nothing else.

The one known bug: a PUT or POST of allocations (or a reshape) for a *new* consumer that
fails on a provider that does not exist, or that writes `allocations: {}`, leaves an empty
consumer at generation 0 upstream and nothing on the reference server. The request
itself gets the same answer from both; the difference shows on the next write for that
consumer. The walk's model follows upstream, so it knows such a consumer (generation 0,
no allocations): that is the situation the rules are keyed by. After the write, the two
servers hold that consumer differently for good, so the walk names it no more (the
consumers of the write are retired).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from placement_spec import Microversion
from tests.differential.messages import Request
from tests.differential.normalise import Normalised
from tests.differential.world import World


@dataclass(frozen=True)
class Situation:
    """What the walk knows about a request when its two answers differ."""

    request: Request
    version: Microversion | None  # None: the header is not a plain microversion
    leftovers: tuple[str, ...]  # consumers of the request that upstream keeps empty at 0


@dataclass(frozen=True)
class Rule:
    situation: str
    upstream: str
    reference: str
    applies: Callable[[Situation], bool]
    holds: Callable[[Normalised, Normalised], bool]


def _writes_for_leftover(situation: Situation) -> bool:
    request = situation.request
    return (bool(situation.leftovers) and situation.version is not None
            and situation.version >= Microversion(1, 28) and request.method in ("PUT", "POST")
            and (request.path.startswith("/allocations") or request.path == "/reshaper"))


def _conflict(answer: Normalised, expected: str, got: str) -> bool:
    """Whether `answer` is the 409 of that generation conflict, as JSON, HTML or text."""
    page = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return answer.status == 409 and (
        f"consumer generation conflict - expected {expected} but got {got}" in page)


RULES = (
    Rule(
        situation="a write (1.28+) for a consumer that upstream left behind, sent with "
                  "consumer_generation null",
        upstream="409 placement.concurrent_update 'expected 0 but got None'",
        reference="the answer for a new consumer (not that 409)",
        applies=lambda s: _writes_for_leftover(s) and '"consumer_generation": null' in
        (s.request.payload() or ""),
        holds=lambda ours, theirs: _conflict(theirs, "0", "None")
        and not _conflict(ours, "0", "None"),
    ),
    Rule(
        situation="a write (1.28+) for a consumer that upstream left behind, sent with "
                  "consumer_generation 0",
        upstream="the answer for an existing consumer at generation 0",
        reference="409 placement.concurrent_update 'expected null but got 0'",
        applies=lambda s: _writes_for_leftover(s) and '"consumer_generation": 0' in
        (s.request.payload() or ""),
        holds=lambda ours, theirs: _conflict(ours, "null", "0")
        and not _conflict(theirs, "null", "0"),
    ),
)


def allowed(situation: Situation, upstream: Normalised, reference: Normalised) -> Rule | None:
    """The rule of the table that allows this difference, if one does."""
    for rule in RULES:
        if rule.applies(situation) and rule.holds(reference, upstream):
            return rule
    return None


def leftovers(world: World, request: Request) -> tuple[str, ...]:
    """The consumers a write names that upstream keeps, empty, at generation 0."""
    return tuple(uuid for uuid in request.consumers
                 if uuid in world.consumers and world.consumers[uuid].leftover)


def describe() -> str:
    """The table, as the command prints it in strict mode."""
    lines = ["differences allowed with --strict:"]
    for rule in RULES:
        lines += [f"- when {rule.situation}:",
                  f"    upstream {rule.upstream}; reference {rule.reference}"]
    return "\n".join(lines)
