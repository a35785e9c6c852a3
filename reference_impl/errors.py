"""Placement's errors and the one place that turns them into responses.

Handlers and storage raise `PlacementError` (or one of its named subclasses); the server
turns it into the page upstream Placement would send. Upstream's errors are its web
framework's (WebOb's) error pages, so their shape follows that framework's rules, which
clients can observe and some depend on:

- the page is JSON, HTML or plain text, whichever of HTML and JSON the `Accept` header
  prefers (plain text when it takes neither); a request with no `Accept`, or `*/*`, is
  treated as asking for JSON;
- its text is the status's standard explanation, a blank line, then the specific message
  (`detail`), laid out by a per-status template; in JSON and plain text, line breaks in
  the message become spaces and anything that looks like a tag is dropped;
- in JSON, Placement's formatter wraps it in `{"errors": [...]}` with the status, title,
  an error code (from 1.23) and the request id; only the authentication layer, which runs
  before Placement's own, answers in the framework's plain JSON.
"""

from __future__ import annotations

import functools
import html
import json
import re
from string import Template
from typing import TYPE_CHECKING

from placement_spec import facts

if TYPE_CHECKING:
    from reference_impl.middleware import RequestState

UNDEFINED_CODE = "placement.undefined_code"
CONCURRENT_UPDATE = "placement.concurrent_update"
INVENTORY_IN_USE = "placement.inventory.inuse"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_HAS_CHILDREN = "placement.resource_provider.cannot_delete_parent"
PROVIDER_NOT_FOUND = "placement.resource_provider.not_found"
QUERY_DUPLICATE_KEY = "placement.query.duplicate_key"
QUERY_BAD_VALUE = "placement.query.bad_value"
QUERY_MISSING_VALUE = "placement.query.missing_value"

# The microversions whose error bodies carry a code.
WITH_CODES = facts.schema_field_range("Error", "errors", "code")

# Titles and explanations as upstream's web framework words them.
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}
_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document "
         "you requested. Either you supplied the wrong credentials (e.g., bad password), "
         "or your browser does not understand how to supply the credentials required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    409: "There was a conflict when trying to complete your request.",
    413: "The body of your request was too large for this server.",
    # Placement never answers these itself; the control API's injected faults do.
    429: "The client has sent too many requests in a given amount of time",
    500: "The server has either erred or is incapable of performing the requested "
         "operation.",
    502: "Bad gateway.",
    503: "The server is currently unavailable. Please try again at a later time.",
    504: "The gateway has timed out.",
}
_DEFAULT_TEMPLATE = Template("${explanation}<br /><br />\n${detail}\n\n")
# Three statuses word their explanation from the request itself.
_TEMPLATES = {
    405: Template("The method ${method} is not allowed for this resource. <br /><br />\n"
                  "${detail}"),
    406: Template("The resource could not be generated that was acceptable to your browser\n"
                  "(content of type ${accept}. <br /><br />\n${detail}"),
    415: Template("The request media type ${content_type} is not supported by this server.\n"
                  "<br /><br />\n${detail}"),
}
_HTML_PAGE = Template("<html>\n <head>\n  <title>${status}</title>\n </head>\n <body>\n"
                      "  <h1>${status}</h1>\n  ${body}\n </body>\n</html>")
_BREAK = re.compile(r"<br.*?>", re.I | re.S)
_TAG = re.compile(r"<.*?>", re.S)
_COMMENT = re.compile(r"<!--|-->")

# The media types upstream's error pages come in, in its order of preference on a tie.
_HTML, _JSON = "text/html", "application/json"


class PlacementError(Exception):
    """A failure that Placement reports with a status, a message and an error code."""

    status = 400

    def __init__(self, message: str = "", *, status: int | None = None,
                 code: str = UNDEFINED_CODE, headers: dict[str, str] | None = None,
                 extra: dict | None = None, outside_handler: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}
        # Upstream raises some errors (an unknown provider or class, looked up before its
        # handler catches anything) past the layer that adds `Vary`; they go without it.
        self.outside_handler = outside_handler


class BadRequest(PlacementError):
    status = 400


class Unauthorized(PlacementError):
    status = 401


class Forbidden(PlacementError):
    status = 403


class NotFound(PlacementError):
    status = 404


class Conflict(PlacementError):
    status = 409


class ConcurrentUpdate(Conflict):
    """Someone else changed the same provider or consumer first: the client may retry."""

    def __init__(self, message: str):
        super().__init__(message, code=CONCURRENT_UPDATE)


def render(error: PlacementError, request: RequestState) -> tuple[str, bytes]:
    """The content type and body upstream sends for `error`, for this request."""
    wanted = preferred(request.accept, (_HTML, _JSON))
    if wanted == _HTML:
        return "text/html; charset=UTF-8", _html_page(error, request).encode("utf-8")
    if wanted == _JSON:
        return "application/json", json.dumps(_json_document(error, request)).encode("utf-8")
    text = f"{error.status} {_TITLES[error.status]}\n\n{_strip_tags(_page_body(error, request))}"
    return "text/plain; charset=UTF-8", text.encode("utf-8")


def _page_body(error: PlacementError, request: RequestState, escape=str) -> str:
    template = _TEMPLATES.get(error.status, _DEFAULT_TEMPLATE)
    return template.substitute(
        explanation=escape(_EXPLANATIONS.get(error.status, "")),
        detail=escape(error.message), method=escape(request.method),
        accept=escape(request.accept), content_type=escape(str(request.content_type)))


def _html_page(error: PlacementError, request: RequestState) -> str:
    return _HTML_PAGE.substitute(status=f"{error.status} {_TITLES[error.status]}",
                                 body=_page_body(error, request, _html_escape))


def _html_escape(text: str) -> str:
    return html.escape(text, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _json_document(error: PlacementError, request: RequestState) -> dict:
    body = _page_body(error, request)
    if isinstance(error, Unauthorized):
        # The authentication layer's own JSON: the page body as it stands, tags and all.
        return {"message": body, "code": f"{error.status} {_TITLES[error.status]}",
                "title": _TITLES[error.status]}
    item = {"status": error.status, "title": _TITLES[error.status],
            "detail": _strip_tags(body)}
    if request.version is not None and WITH_CODES.covers(request.version):
        item["code"] = error.code
    item["request_id"] = request.request_id
    item.update(error.extra)
    return {"errors": [item]}


def _strip_tags(text: str) -> str:
    text = text.replace("\n", " ").replace("\r", "")
    return _TAG.sub("", _COMMENT.sub("", _BREAK.sub("\n", text)))


# Clients send the same few headers again and again: each is parsed once.
@functools.lru_cache(maxsize=256)
def preferred(accept: str, offers: tuple[str, ...]) -> str | None:
    """The offer the `Accept` header prefers, or None when it takes none of them.

    Each offer takes the quality of the most specific media range that matches it
    (`type/subtype` over `type/*` over `*/*`); an offer at quality 0 is refused; on a tie
    the earlier offer wins. A header that cannot be parsed accepts every offer.
    """
    ranges = _media_ranges(accept)
    if ranges is None:
        return offers[0]
    best, best_quality = None, 0.0
    for offer in offers:
        quality = _quality(offer, ranges)
        if quality > best_quality:
            best, best_quality = offer, quality
    return best


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    kind = offer.split("/")[0]
    found, specificity = 0.0, 0
    for media_range, quality in ranges:
        rank = 3 if media_range == offer else 2 if media_range == f"{kind}/*" else \
            1 if media_range == "*/*" else 0
        if rank > specificity:
            found, specificity = quality, rank
    return found


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_RANGE = re.compile(rf"^({_TOKEN}/{_TOKEN})\s*((?:;\s*{_TOKEN}=(?:{_TOKEN}|\"[^\"]*\")\s*)*)$")
_QUALITY = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def _media_ranges(accept: str) -> list[tuple[str, float]] | None:
    """The header's media ranges with their qualities; None when it does not parse."""
    ranges = []
    for element in (part.strip() for part in accept.split(",")):
        if not element:
            continue
        match = _RANGE.match(element)
        if match is None:
            return None
        quality = 1.0
        for parameter in filter(None, (p.strip() for p in match.group(2).split(";"))):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                if not _QUALITY.match(value.strip()):
                    return None
                quality = float(value)
        ranges.append((match.group(1).lower(), quality))
    return ranges
