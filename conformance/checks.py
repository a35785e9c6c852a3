"""Placement's own rules, as schemathesis checks: what every response of this API must obey.

Schemathesis's built-in checks know OpenAPI; these know Placement. Each one is a plain
function `(ctx, response, case) -> None` that raises `AssertionError` with a sentence a
deployment's operator can act on. They are registered with schemathesis by
`conformance.fuzz`, and run on every response the fuzzer gets:

- `no_server_error`: a 5xx is never an answer (Placement has no planned 500).
- `placement_error_shape`: every 4xx/5xx body is `{"errors": [{status, title, detail...}]}`
  with the response's own status; a 401 comes from the auth middleware in front of
  Placement and has that middleware's shape, which is also allowed.
- `no_content_means_no_body`: a 204 has no body and no `Content-Type`.
- `microversion_echoed`: `OpenStack-API-Version` in the response names the microversion
  the request asked for (every response past authentication carries it).
- `replace_on_put`: after a 204 `PUT /allocations/{consumer_uuid}`, a `GET` of the same
  consumer shows exactly what was put, not a merge with what the consumer held before.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from schemathesis import Case, CheckContext, Response

from placement_spec import MINIMUM, Microversion, facts
from placement_spec.microversion import named_in_header

from conformance import allocation_bodies
from conformance.uuids import canonical

VERSION_HEADER = "OpenStack-API-Version"
CONSUMER = "/allocations/{consumer_uuid}"
# What a PUT sets and the GET of the consumer shows again, where the GET has it (the
# generation is not among them: the PUT moves it on).
ECHOED_FIELDS = ("project_id", "user_id", "consumer_type")


def no_server_error(ctx: CheckContext, response: Response, case: Case) -> None:
    """A 5xx means the server failed; Placement documents no request that should."""
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code} for {case.operation.label}: "
                             f"{response.text_lossy()[:500]}")


def placement_error_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Clients read `errors[0].code` and `.detail` from every error; any other shape
    breaks them. The 401 of the authentication middleware is the one exception."""
    status = response.status_code
    if status < 400:
        return
    body = _json_or_none(response)
    if status == 401 and _is_middleware_401(body):
        return
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        raise AssertionError(f'a {status} body must be {{"errors": [...]}}, got: '
                             f"{response.text_lossy()[:300]}")
    for error in errors:
        if not isinstance(error, dict) or error.get("status") != status:
            raise AssertionError(f"each error must have status {status}: {error!r}")
        if not isinstance(error.get("title"), str) or not isinstance(error.get("detail"), str):
            raise AssertionError(f"each error must have a title and a detail: {error!r}")


def no_content_means_no_body(ctx: CheckContext, response: Response, case: Case) -> None:
    """Placement's 204s are bare: clients that parse a body or a content type on them fail."""
    if response.status_code != 204:
        return
    if response.content:
        raise AssertionError(f"a 204 must have no body, got: {response.text_lossy()[:300]}")
    content_type = header(response, "Content-Type")
    if content_type is not None:
        raise AssertionError(f"a 204 must have no Content-Type, got: {content_type}")


def microversion_echoed(ctx: CheckContext, response: Response, case: Case) -> None:
    """A client learns which microversion served it from this header alone.

    The 401 of the authentication middleware comes before any microversion is chosen,
    so it carries none.
    """
    asked = _requested_version(response)
    if asked is None or response.status_code == 401:
        return
    answered = header(response, VERSION_HEADER)
    if answered != f"placement {asked}":
        raise AssertionError(f"asked for placement {asked}, the response says "
                             f"{VERSION_HEADER}: {answered}")


def replace_on_put(ctx: CheckContext, response: Response, case: Case) -> None:
    """A PUT replaces everything a consumer holds; a server that merges double-books.

    After a 204, a GET of the same consumer at the same microversion must show exactly
    the providers, classes and amounts that were put (and the project, user and type).
    """
    if case.operation.label != f"PUT {CONSUMER}" or response.status_code != 204:
        return
    # Without the header a request is served at the lowest microversion.
    version = Microversion.parse(_requested_version(response) or str(MINIMUM))
    request = response.request
    shown = requests.get(request.url, verify=response.verify, timeout=30, headers={
        name: request.headers[name] for name in ("X-Auth-Token", VERSION_HEADER)
        if name in request.headers})
    if shown.status_code != 200:
        raise AssertionError(f"GET after the PUT answered {shown.status_code}: {shown.text[:300]}")
    held = shown.json()
    allocations = held.get("allocations") if isinstance(held, dict) else None
    if not isinstance(allocations, dict):
        raise AssertionError(f"GET after the PUT shows no allocations: {shown.text[:300]}")
    expected = allocation_bodies.claims_of(case.body)
    actual = {canonical(provider): entry.get("resources") if isinstance(entry, dict) else entry
              for provider, entry in allocations.items()}
    if actual != expected:
        raise AssertionError(f"PUT {json.dumps(expected, sort_keys=True)} but GET shows "
                             f"{json.dumps(actual, sort_keys=True)}")
    for field in ECHOED_FIELDS:
        put, shown_field = case.body.get(field), held.get(field)
        if expected and _shown_by_get(field, version) and field in case.body and shown_field != put:
            raise AssertionError(f"PUT {field} {put!r} but GET shows {shown_field!r}")


def _shown_by_get(field: str, version: Microversion) -> bool:
    return facts.response_field_range("GET", CONSUMER, 200, field).covers(version)


CHECKS = (no_server_error, placement_error_shape, no_content_means_no_body,
          microversion_echoed, replace_on_put)


def _requested_version(response: Response) -> str | None:
    """The X.Y of the `placement X.Y` the request asked for, if it asked for one."""
    return named_in_header(response.request.headers.get(VERSION_HEADER))


def header(response: Response, name: str) -> str | None:
    """The first value of the response's header `name`, whatever its case."""
    for key, values in response.headers.items():
        if key.lower() == name.lower():
            return values[0]
    return None


def _json_or_none(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _is_middleware_401(body: Any) -> bool:
    """noauth2's webob JSON (`message`, `code`, `title`) or keystonemiddleware's (`error`)."""
    if not isinstance(body, dict):
        return False
    return {"message", "code", "title"} <= body.keys() or isinstance(body.get("error"), dict)
