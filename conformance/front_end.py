"""The deployment's front end: what it may refuse before Placement sees a request, and
how an answer it gave is told from Placement's.

Every real deployment serves Placement behind a web server or a proxy (Apache with
mod_wsgi, nginx, uWSGI, HAProxy, gunicorn), and each refuses, with a page of its own, a
request past its limits on the request line, a header field or the body: 414, 431 or 413
(and a proxy answers 502, 503 or 504 when Placement does not). Such an answer says nothing
of Placement's contract, so the harness

- generates only requests within `COMMON_LIMITS`, which those front ends accept by default
  (`exceeded`), and
- reports an answer the front end gave instead of Placement (`refusal`) as "not reached",
  which fails the run only when the user says the deployment must accept the request
  (`Policy.FAIL`, `--front-end-refusals=fail`).

An answer is Placement's when it carries one of Placement's headers or its error body
(`{"errors": [...]}`): the reference server's 413 for a body over its limit is one, and is
judged as any other answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Mapping

# What a front end answers instead of Placement: a request too large for it (413 body,
# 414 request line, 431 header fields), or no answer from Placement behind it.
FRONT_END_STATUSES = frozenset({413, 414, 431, 502, 503, 504})

# Headers Placement puts on every answer (the request id on all of them, the microversion
# on all after authentication); a front end's own page has neither.
PLACEMENT_HEADERS = frozenset({"x-openstack-request-id", "openstack-api-version"})


class Policy(str, Enum):
    """What a front end's refusal means for the run (`--front-end-refusals`)."""

    # Not reached: counted and named, but the run does not fail for it.
    REPORT = "report"
    # The deployment must accept the request: the refusal fails the run.
    FAIL = "fail"


@dataclass(frozen=True)
class Limits:
    """Sizes a front end accepts, in bytes: the request line ("GET /usages?... HTTP/1.1",
    without its CRLF), one header field ("Name: value") and the body."""

    request_line: int
    header_field: int
    body: int


# The tightest of the common front ends' defaults: gunicorn's limit_request_line (4094;
# Apache's LimitRequestLine and nginx's large_client_header_buffers allow 8 KiB) and
# limit_request_field_size (8190, as Apache's LimitRequestFieldSize), and nginx's
# client_max_body_size (1 MiB, also the reference server's --max-body-bytes).
COMMON_LIMITS = Limits(request_line=4094, header_field=8190, body=1024 * 1024)


def exceeded(limits: Limits, method: str, target: str, headers: Iterable[tuple[str, str]],
             body: bytes | None) -> str | None:
    """Which of `limits` the request passes, as a phrase ("a request line of 4,720
    bytes"), or None when it stays within them all. `target` is the path with its query
    string, as the request line carries it."""
    line = len(f"{method} {target} HTTP/1.1".encode("utf-8", "surrogateescape"))
    if line > limits.request_line:
        return f"a request line of {line:,} bytes (limit {limits.request_line:,})"
    for name, value in headers:
        field = len(f"{name}: {value}".encode("utf-8", "surrogateescape"))
        if field > limits.header_field:
            return f"a header field {name} of {field:,} bytes (limit {limits.header_field:,})"
    if body is not None and len(body) > limits.body:
        return f"a body of {len(body):,} bytes (limit {limits.body:,})"
    return None


@dataclass(frozen=True)
class Refusal:
    """An answer the deployment's front end gave instead of Placement."""

    status: int

    def __str__(self) -> str:
        return f"the deployment's front end refused the request ({self.status})"

    def verdict(self, policy: Policy) -> str:
        """How the run reports it: not reached, or a failure when the user said the
        deployment must accept the request."""
        if policy is Policy.REPORT:
            return f"not reached: {self}"
        return f"{self}, which the deployment must accept (front-end refusals: fail)"


def refusal(status: int, headers: Iterable[str] | Mapping[str, object],
            body: bytes | str) -> Refusal | None:
    """The front end's refusal this answer is, or None when Placement gave it (or could
    have: a status Placement might answer, one of its headers, its error body).

    `headers` are the answer's header names (a mapping's keys will do).
    """
    if status not in FRONT_END_STATUSES:
        return None
    if {str(name).lower() for name in headers} & PLACEMENT_HEADERS:
        return None
    if _placement_error_body(body):
        return None
    return Refusal(status)


def _placement_error_body(body: bytes | str) -> bool:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and isinstance(document.get("errors"), list)
