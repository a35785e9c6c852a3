"""Everything Placement does to a request before a handler sees it, in Placement's order.

Upstream Placement is a stack of WSGI layers, and clients can observe their order: a
missing token is a 401 even on an unknown path; a bad microversion is a 406 or a 400
before routing; an unknown path is a 404 and a wrong method a 405 before the content type
is looked at; a wrong content type is a 415 before the token's role is; and so on. This
one ASGI middleware reproduces that order, then hands the request to the Connexion API
mounted for its microversion, which validates parameters and body against the spec
projected to that microversion and calls the handler.

It also decorates every response the way Placement does: the request id, the
microversion and `Vary` headers, and no content type on a 204.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from placement_spec import MAXIMUM, MINIMUM, Microversion, facts

from reference_impl.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PlacementError,
    Unauthorized,
    preferred,
    render,
)
from reference_impl.policy import Enforcer, credentials
from reference_impl.routes import MOUNT_ROOT, Projection, match, routes
from reference_impl.storage import providers
from reference_impl.storage.db import Database
from reference_impl.uuids import canonical
from reference_impl.validation import check_query, named_parameters, query_validator

VERSION_HEADER = "openstack-api-version"
REQUEST_ID_HEADER = "x-openstack-request-id"
# Upstream checks these paths' provider or consumer before it reads a body.
PROVIDER_PATH = "/resource_providers/{uuid}"
CONSUMER_PATH = "/allocations/{consumer_uuid}"
JSON = "application/json"
# The operation's policy rule, named in the spec as upstream names it in a 403.
POLICY = "x-openstack-policy"
# The query parameter naming the project an operation's rule is checked against, where
# that is not the caller's own project.
POLICY_TARGET = "x-openstack-policy-target"
SERVICE = "placement"

# Paths served without a token or a microversion: the version document, and the spec and
# its Swagger UI for people reading them.
OPEN_PATHS = ("/",)
DOCUMENT_PREFIXES = ("/ui", "/openapi.json", "/openapi.yaml")
# The scope key by which the control layer (`reference_impl.control`, with `--control`
# only) hands on a request for the control API it has admitted: such a request goes
# straight to the control API's Connexion application, as a document does.
CONTROL = "placement_control"

# Nesting deeper than this is no Placement document; refusing it early keeps the JSON
# parsers (ours and Connexion's) far from Python's recursion limit.
MAX_JSON_DEPTH = 64


@dataclass
class RequestState:
    """What the middleware learned about a request, for the handlers."""

    request_id: str
    database: Database
    version: Microversion | None = None
    script_name: str = ""
    # Scheme and host the client reached the server by: upstream's web framework makes
    # every `Location` an absolute URL from them.
    host_url: str = ""
    # Whether to follow the api-ref where upstream has a known bug, not upstream.
    strict: bool = False
    # What shapes an error page: the method, the media type the client sent, and what it
    # accepts (upstream reads no `Accept`, or `*/*`, as a request for JSON).
    method: str = "GET"
    content_type: str | None = None
    accept: str = "application/json"
    # Upstream adds `Vary` only to answers its handlers give; the few errors raised
    # outside them (an unknown path, a policy refusal, a lookup of an unknown provider
    # that escapes its handler) go without it.
    vary: bool = False
    # The query string's parameters, each value in order: the handler is handed the last
    # value of each, and a filter that may be repeated reads them all here.
    query: list[tuple[str, str]] = field(default_factory=list)
    # Upstream's 400 for a query string that is not UTF-8, given only by an operation
    # that reads its query, and after the policy's check.
    unreadable_query: BadRequest | None = None
    # The newest microversion served: the spec's, or an older one (--max-microversion).
    maximum: Microversion = MAXIMUM


class PlacementMiddleware:
    def __init__(self, app, *, projections: dict[Microversion, Projection], database: Database,
                 admin_token: str, enforcer: Enforcer, max_body_bytes: int,
                 strict: bool = False, maximum: Microversion = MAXIMUM):
        self.app = app
        self.database = database
        self.routes = routes()
        self.projections = projections
        self.admin_token = admin_token
        self.enforcer = enforcer
        self.max_body_bytes = max_body_bytes
        self.strict = strict
        self.maximum = maximum

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = RequestState(request_id=f"req-{uuidlib.uuid4()}", database=self.database,
                             script_name=scope.get("root_path", ""), strict=self.strict,
                             maximum=self.maximum)
        scope["placement"] = state
        state.host_url = _host_url(scope)
        path = scope["path"]
        if path.startswith(DOCUMENT_PREFIXES) or CONTROL in scope:
            await self.app(scope, receive, send)
            return
        decorate = _Decorator(send, state)
        try:
            receive, query = await self._admit(scope, receive, state)
        except _EarlyResponse as early:
            await early.send(decorate, state)
            return
        state.vary = True
        # A copy, so that the server's access log shows the path the client asked for.
        # A line feed stays encoded: Starlette's mounts match their rest with `.*`, which
        # stops at one, and every answer to such a path is the same with it encoded.
        mounted = self.projections[state.version].mount + path.replace("\n", "%0A")
        scope = {**scope, "path": mounted, "raw_path": mounted.encode("utf-8"),
                 "query_string": query}
        await self.app(scope, receive, decorate)

    async def _admit(self, scope, receive, state: RequestState):
        """Run Placement's checks in order; return the `receive` and query string to hand
        on."""
        headers = request_headers(scope)
        path, method = scope["path"], scope["method"]
        state.method, state.content_type = method, headers.get("content-type")
        if headers.get("accept") not in (None, "", "*/*"):
            state.accept = headers["accept"]
        token = headers.get("x-auth-token")
        if path not in OPEN_PATHS and token is None:
            raise _EarlyResponse(Unauthorized())
        state.version = _negotiate(headers.get(VERSION_HEADER), state.maximum)
        _check_content_length(headers)
        route = match(self.routes, path) if not path.startswith(MOUNT_ROOT) else None
        if route is None:
            raise _EarlyResponse(NotFound())
        if method not in route.methods:
            raise _EarlyResponse(PlacementError(
                "The method specified is not allowed for this resource.",
                status=405, headers={"allow": route.allowed}), vary=True)
        operation = self.projections[state.version].operation(route, method)
        if operation is None:
            if facts.MEDIA_BEFORE_VERSION in facts.check_order(method, route.template):
                _check_media(self.projections[MAXIMUM].operation(route, method), state,
                             headers, path)
            raise _EarlyResponse(PlacementError(status=route.absent_status(method)),
                                 vary=True)
        _check_media(operation, state, headers, path)
        # Parsed once, here: the policy rule's target and the query's check both read it.
        # A query that is not UTF-8 is refused by the query's check, after the policy's.
        try:
            state.query = _query_pairs(scope.get("query_string", b""))
        except BadRequest as error:
            state.unreadable_query = error
        if path not in OPEN_PATHS:
            self._authorize(operation, token, headers, state)
        query = _checked_query(state, route.template)
        if "requestBody" not in operation:
            return receive, query
        if (route.template.startswith(PROVIDER_PATH)
                and facts.BODY_BEFORE_PROVIDER not in facts.check_order(method, route.template)):
            await self.database.call(self._check_provider_exists, path)
        elif route.template == CONSUMER_PATH:
            _check_consumer_uuid(path)
        body = await _read_body(receive, headers, self.max_body_bytes)
        _check_json(body)
        return replay(body), query


    def _authorize(self, operation: dict, token: str, headers: dict[str, str],
                   state: RequestState) -> None:
        """Refuse the request unless the operation's policy rule allows its credentials."""
        who = credentials(token, headers, self.admin_token)
        target = {"project_id": who.project_id, "user_id": who.user_id}
        if POLICY_TARGET in operation:
            # As upstream reads it: the parameter's last value, None when it is absent.
            target = {"project_id": dict(state.query).get(operation[POLICY_TARGET])}
        refusal = self.enforcer.refusal(operation[POLICY], who, target)
        if refusal is not None:
            raise _EarlyResponse(Forbidden(refusal))

    def _check_provider_exists(self, path: str) -> None:
        """Upstream finds the provider a body is for before it reads the body: an unknown
        provider is a 404 whatever the body holds."""
        with self.database.read() as connection:
            try:
                providers.get(connection, path.split("/")[2])
            except NotFound as error:
                raise _EarlyResponse(error)


async def send_error(scope, send, error: PlacementError, *, vary: bool = False,
                     maximum: Microversion = MAXIMUM) -> None:
    """Answer `error` as this middleware answers its own errors, with Placement's headers,
    for a layer outside it: the control layer's refusals and injected faults."""
    headers = request_headers(scope)
    state = RequestState(request_id=f"req-{uuidlib.uuid4()}", database=None,
                         method=scope["method"], content_type=headers.get("content-type"),
                         version=requested_version(headers, maximum), maximum=maximum)
    if headers.get("accept") not in (None, "", "*/*"):
        state.accept = headers["accept"]
    await _EarlyResponse(error, vary=vary).send(_Decorator(send, state), state)


def requested_version(headers: dict[str, str],
                      maximum: Microversion = MAXIMUM) -> Microversion | None:
    """The microversion a request's headers ask for, or None when they name none that
    a Placement serving up to `maximum` accepts."""
    try:
        return _negotiate(headers.get(VERSION_HEADER), maximum)
    except _EarlyResponse:
        return None


class _EarlyResponse(Exception):
    """An error the middleware answers itself, before any handler runs."""

    def __init__(self, error: PlacementError, vary: bool = False):
        super().__init__(error.status)
        self.error = error
        self.vary = vary

    async def send(self, decorate: "_Decorator", state: RequestState) -> None:
        content_type, body = render(self.error, state)
        if state.method == "HEAD":
            # Upstream's framework answers HEAD with its default, empty, page.
            content_type, body = "text/html; charset=UTF-8", b""
        state.vary = self.vary
        decorate.with_version = not isinstance(self.error, Unauthorized)
        headers = {"content-type": content_type, **self.error.headers,
                   "content-length": str(len(body))}
        await decorate({"type": "http.response.start", "status": self.error.status,
                        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await decorate({"type": "http.response.body", "body": body})


class _Decorator:
    """Wraps `send`: adds Placement's headers to whatever response goes out, and takes the
    content type off a response without a body, as Placement sends none there."""

    def __init__(self, send, state: RequestState):
        self.send = send
        self.state = state
        self.with_version = True
        self.no_content = False

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            self.no_content = message["status"] == 204 or (
                (b"content-length", b"0") in headers and self.state.method != "HEAD")
            if self.no_content:
                # No content type; a length of 0, except on a 204, which has none.
                headers = [(name, value) for name, value in headers
                           if name.lower() not in (b"content-type", b"content-length")]
                if message["status"] != 204:
                    headers.append((b"content-length", b"0"))
            headers = [(name, self.state.host_url.encode() + value)
                       if name.lower() == b"location" and value.startswith(b"/")
                       else (name, value) for name, value in headers]
            headers.append((REQUEST_ID_HEADER.encode(), self.state.request_id.encode()))
            if self.with_version and self.state.version is not None:
                headers.append((VERSION_HEADER.encode(),
                                f"{SERVICE} {self.state.version}".encode()))
                if self.state.vary:
                    headers.append((b"vary", VERSION_HEADER.encode()))
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and self.no_content:
            message = {**message, "body": b""}
        await self.send(message)


def request_headers(scope) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])}


def _check_consumer_uuid(path: str) -> None:
    consumer_uuid = path.rsplit("/", 1)[1]
    if canonical(consumer_uuid) is None:
        raise _EarlyResponse(BadRequest(f"Malformed consumer_uuid: {consumer_uuid}"), vary=True)


def _host_url(scope) -> str:
    host = request_headers(scope).get("host")
    if host is None:
        server_host, port = scope.get("server") or ("localhost", 80)
        host = f"{server_host}:{port}"
    return f"{scope.get('scheme', 'http')}://{host}"


def _negotiate(header: str | None, maximum: Microversion) -> Microversion:
    """The microversion a request asks for: none means the minimum, `latest` the maximum
    served.

    The header may name several services (`compute 2.1, placement 1.12`); the last
    `placement` entry counts. Its version is read as upstream reads it: two integers as
    Python's `int` reads them, so `1.05` is 1.5 and `1.-1` a version out of range.
    """
    wanted = None
    for part in (header or "").split(","):
        words = part.strip().split(None, 1)
        if len(words) == 2 and words[0].lower() == SERVICE:
            wanted = words[1]
    if wanted is None:
        return MINIMUM
    if wanted == "latest":
        return maximum
    try:
        numbers = [int(number) for number in wanted.split(".", 1)]
        if len(numbers) == 1:
            raise ValueError("Version.__new__() missing 1 required positional argument: "
                             "'minor'")
    except ValueError as error:
        raise _EarlyResponse(BadRequest(
            f"Invalid microversion: invalid version string: {wanted}; {error}"))
    version = Microversion(*numbers)
    if not MINIMUM <= version <= maximum:
        raise _EarlyResponse(PlacementError(
            f"Invalid microversion: Unacceptable version header: {wanted}", status=406,
            extra={"max_version": str(maximum), "min_version": str(MINIMUM)}))
    return version


def _check_content_length(headers: dict[str, str]) -> None:
    length = headers.get("content-length")
    if length is None:
        return
    if not length.isdigit():
        raise _EarlyResponse(BadRequest("content-length header must be an integer"))
    if int(length) > 0 and not headers.get("content-type"):
        raise _EarlyResponse(
            BadRequest("content-type header required when content-length > 0"))


def _check_media(operation: dict, state: RequestState, headers: dict[str, str],
                 path: str) -> None:
    """A body must be JSON (415), and a GET whose success has a body must accept JSON
    (406)."""
    if "requestBody" in operation:
        _require_json(headers)
    if state.method == "GET" and path not in OPEN_PATHS and _has_body(operation):
        _check_accept(state)


def _require_json(headers: dict[str, str]) -> None:
    content_type = headers.get("content-type")
    media_type = content_type.split(";")[0].strip().lower() if content_type else None
    if media_type != JSON:
        raise _EarlyResponse(
            PlacementError(
                f"The media type {media_type} is not supported, use {JSON}",
                status=415,
            ),
            vary=True,
        )


def _has_body(operation: dict) -> bool:
    """Whether the operation answers with a body: upstream checks `Accept` only then."""
    return any(code.startswith("2") and "content" in response
               for code, response in operation["responses"].items())


def _check_accept(state: RequestState) -> None:
    if preferred(state.accept, (JSON,)) is None:
        raise _EarlyResponse(PlacementError(f"Only {JSON} is provided", status=406), vary=True)


def _checked_query(state: RequestState, template: str) -> bytes:
    """The query string as the handler gets it, once upstream's check has passed: the last
    value of each named parameter, or nothing for an operation that reads none. Keys of a
    family (`resources1`) Connexion cannot know by name; the handler reads them from
    `state.query`."""
    validator = query_validator(state.version, state.method, template)
    if validator is None:
        return b""
    try:
        if state.unreadable_query is not None:
            raise state.unreadable_query
        query = dict(state.query)
        check_query(validator, query)
    except BadRequest as error:
        raise _EarlyResponse(error, vary=True)
    named = named_parameters(validator)
    return urlencode({key: value for key, value in query.items()
                      if key in named}).encode("ascii")


def _query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    """The keys and values of a query string, as upstream's web framework reads them:
    `+` is a space, pairs are separated by `&` or `;` (empty ones skipped), and each key
    and value is unescaped, then decoded whole from UTF-8 (the first that is not UTF-8
    is refused with the decoder's text)."""
    pairs = []
    for pair in re.split(rb"[&;]", query_string.replace(b"+", b" ")):
        if not pair:
            continue
        key, _, value = pair.partition(b"=")
        try:
            pairs.append((_unescaped(key).decode("utf-8"), _unescaped(value).decode("utf-8")))
        except UnicodeDecodeError as error:
            raise BadRequest(f"Invalid query string parameters: {error}")
    return pairs


def _unescaped(text: bytes) -> bytes:
    """`text` with each `%` escape undone as upstream's framework undoes it: the two
    characters after a `%` are read by Python's int() in base 16 (so `%e` at the end, or
    `% 1`, is one byte too); a `%` they do not make a byte of stays as it is."""
    first, *escaped = text.split(b"%")
    pieces = [first]
    for piece in escaped:
        try:
            pieces.append(bytes([int(piece[:2], 16)]) + piece[2:])
        except ValueError:
            pieces.append(b"%" + piece)
    return b"".join(pieces)


async def _read_body(receive, headers: dict[str, str], limit: int) -> bytes:
    length = headers.get("content-length")
    if length is not None and int(length) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _too_large(limit: int) -> _EarlyResponse:
    return _EarlyResponse(PlacementError(
        f"Request body is larger than the limit of {limit} bytes.", status=413))


def _check_json(body: bytes) -> None:
    """Refuse, with Placement's 400, any body that is not plain, well-formed JSON."""
    try:
        document = json.loads(body.decode("utf-8"))
        _check_strings_and_depth(document, 0)
    except (ValueError, RecursionError) as error:
        raise _EarlyResponse(BadRequest(f"Malformed JSON: {error}"), vary=True)


def _check_strings_and_depth(value, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        # A lone surrogate (`"\\ud800"`) decodes but cannot be stored or sent back.
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _check_strings_and_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings_and_depth(item, depth + 1)


def replay(body: bytes):
    """A `receive` that hands on `body`, read already, as the whole request."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
