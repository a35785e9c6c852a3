"""Invalid twists that can be applied to any request of a walk.

The repertoire writes requests that are valid or invalid in their body; these twists
spoil what every request shares instead: the token, the `Accept` and `Content-Type`
headers, the microversion header, the JSON itself. They are where the order of a
server's checks shows (which comes first: 401, 406, 415, 403, 404, 400?), and where the
error texts and non-JSON error pages of the frameworks differ.
"""

from __future__ import annotations

import random
from typing import Callable

from tests.differential.messages import Request
from tests.parity_script import VISITOR_TOKEN

# How often a request is twisted, one twist at a time.
TWIST_RATE = 0.18

BAD_VERSIONS = ("placement 0.5", "placement 1.40", "placement 2.0", "placement pony.horse",
                "placement 1.2.3", "placement", "placement -1.0", "placement 1.",
                "compute 1.5", "placement latest, compute 2.1")
ACCEPTS = ("text/html", "text/plain", "application/xml", "text/html, application/json",
           "application/json; q=0", "*/*", "application/*")
CONTENT_TYPES = (None, "text/plain", "application/xml", "application/json; charset=utf-8",
                 "application/json-patch+json", "")
MALFORMED = (b'{"name": ', b"not json", b"", b"[]", b"null", b'{"a": 1}{', b"\xff\xfe",
             b'{"a": NaN}')


def no_token(rng: random.Random, request: Request) -> None:
    request.token = rng.choice((None, VISITOR_TOKEN, ""))


def bad_version(rng: random.Random, request: Request) -> None:
    request.version = rng.choice(BAD_VERSIONS)


def odd_accept(rng: random.Random, request: Request) -> None:
    request.accept = rng.choice(ACCEPTS)


def odd_content_type(rng: random.Random, request: Request) -> None:
    request.content_type = rng.choice(CONTENT_TYPES)


def malformed_json(rng: random.Random, request: Request) -> None:
    request.raw = rng.choice(MALFORMED)


TWISTS: tuple[tuple[Callable[[random.Random, Request], None], int, bool], ...] = (
    # (twist, weight, only for requests with a body)
    (no_token, 3, False),
    (bad_version, 3, False),
    (odd_accept, 4, False),
    (odd_content_type, 3, True),
    (malformed_json, 3, True),
)


def maybe_twist(rng: random.Random, request: Request) -> Request:
    """Now and then, spoil one thing every request has; record which in `twists`."""
    if rng.random() >= TWIST_RATE:
        return request
    fitting = [(twist, weight) for twist, weight, needs_body in TWISTS
               if request.has_body or not needs_body]
    twists, weights = zip(*fitting)
    twist = rng.choices(twists, weights)[0]
    twist(rng, request)
    request.twists.append(twist.__name__.replace("_", " "))
    return request
