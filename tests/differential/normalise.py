"""What is set aside before two answers are compared: all of it, in this one place.

Everything not named here is compared exactly: the status, every other header by name
and value (`allow`, `vary`, `content-type` with its parameters, `location`...), and the
body, JSON or not, error texts included.

- Request ids: the `x-openstack-request-id` header, and `request_id` in error bodies.
- Times: the `date` and `last-modified` headers (their presence is still compared), and
  a database timestamp quoted in a text (`'2026-11-29 18:18:18.779249'`, as in upstream's
  409 for an inventory that already exists, which quotes the failed SQL statement).
- Transport: `server`, `content-length`, `connection`, `keep-alive`,
  `transfer-encoding`.
- Where each server listens: its base URL (`http://127.0.0.1:PORT`), wherever it appears,
  becomes `<base-url>`; an absolute URL stays absolute and a path stays a path.
- Provider uuids a server chose itself (`POST /resource_providers` without a uuid) become
  the provider's label, `<rp3>`, on each side.
- Schema failures: the `detail` of a body that fails the schema ends with jsonschema's
  full message, which quotes the failing part of the schema. The reference server checks
  against its own projected schema, so the schema path and the quoted schema are
  replaced by `<schema>`; the message before them, the keyword (`Failed validating
  'minimum'`) and the instance path and value after them are kept.
- A database's own error: upstream's 409 for a POST of an inventory whose class the
  provider already has quotes the error of its database driver ("Update conflict:
  (sqlite3.IntegrityError) UNIQUE constraint failed: ... [SQL: INSERT ...] [parameters:
  (...)]"), a text that changes with the database, its driver and the rows' internal
  ids; what follows "Update conflict: " becomes `<database error>` on both sides (the
  status, code and the rest of the body are still compared).
- The order of a list of traits or aggregates (`traits`, `aggregates` in a body): upstream
  adds the standard traits, and a request's new aggregates, in the order of a Python set,
  which changes with each process's string hashing, and lists them in that order.
- The order of allocation candidates (`allocation_requests`), of the providers of a
  candidate in the list form before 1.12, and of the providers of each of its mappings:
  upstream promises "a deterministic but undefined order" (`sort_candidates` of
  `tests/parity_script.py`, which the parity test uses too).
- Which of several equal schema failures is named, when the request names providers whose
  uuids each server chose itself: of failures that tie, jsonschema names the one whose
  path sorts last, and a path through such a provider sorts by a uuid that differs
  between the servers. For such a request, the instance path and value a failure quotes
  become `<instance>`; the message and keyword are still compared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.differential.messages import Answer
from tests.parity_script import sort_candidates

IGNORED_HEADERS = frozenset({"x-openstack-request-id", "date", "server", "content-length",
                             "connection", "keep-alive", "transfer-encoding"})
TIMES = frozenset({"last-modified"})
TIME = "<time>"
BASE_URL = "<base-url>"
SCHEMA = "<schema>"
INSTANCE = "<instance>"
DATABASE_ERROR = "<database error>"

# "Failed validating 'minimum' in schema['properties']...:  {...}  On instance[...]" (the
# newlines of jsonschema's message arrive as spaces in upstream's error body).
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?")
# A quote stands as `'` in JSON and plain text, as `&#x27;` in an HTML page.
_QUOTE = r"(?:'|&#x27;)"
_SCHEMA_QUOTE = re.compile(rf"(Failed validating {_QUOTE}.*?{_QUOTE} in )schema.*?(\s+On instance)",
                           re.S)
_INSTANCE_QUOTE = re.compile(r"(Failed validating .*?\sOn instance).*", re.S)
# Upstream's database error, and the reference server's words for the same conflict.
_DATABASE_ERROR = re.compile(
    rf"(Update conflict: )(?:\(\w+\.IntegrityError\).*?\(Background on this error at: \S+\)"
    rf"|Inventory for {_QUOTE}\w+{_QUOTE} on resource provider {_QUOTE}\S+?{_QUOTE} "
    rf"already exists\.)", re.S)


@dataclass(frozen=True)
class Normalised:
    """An answer as compared: status, headers, and the body (JSON, or text)."""

    status: int
    headers: dict[str, str]
    body: Any


def normalise(answer: Answer, base_url: str, generated: dict[str, str],
              names_generated: bool = False) -> Normalised:
    """`answer` from the server at `base_url`, which named providers `generated` (uuid ->
    `<label>`) itself, with only the things above set aside; `names_generated`: the
    request names such a provider."""

    def text(value: str) -> str:
        value = _TIMESTAMP.sub(TIME, value.replace(base_url, BASE_URL))
        for uuid, label in generated.items():
            value = value.replace(uuid, label)
        return _INSTANCE_QUOTE.sub(rf"\g<1>{INSTANCE}", value) if names_generated else value

    headers = {name: TIME if name in TIMES else text(value)
               for name, value in answer.headers.items() if name not in IGNORED_HEADERS}
    body = answer.json()
    if body is None and answer.text.strip() != "null":
        return Normalised(answer.status, headers, _in_words(text(answer.text)))
    body = _body(body, text)
    if isinstance(body, dict) and isinstance(body.get("allocation_requests"), list):
        body = sort_candidates(body)
    return Normalised(answer.status, headers, body)


# Lists whose order upstream takes from its hash seed (see above).
UNORDERED = frozenset({"traits", "aggregates"})


def _body(value: Any, text) -> Any:
    if isinstance(value, dict):
        return {text(key): _sorted(item) if key in UNORDERED else _body(item, text)
                for key, item in value.items()
                if not (key == "request_id" and _is_error(value))}
    if isinstance(value, list):
        return [_body(item, text) for item in value]
    if isinstance(value, str):
        return _in_words(text(value))
    return value


def _sorted(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(value)
    return value


def _in_words(value: str) -> str:
    """A text with the schema a failure quotes, and a database's error, set aside."""
    value = _SCHEMA_QUOTE.sub(rf"\g<1>{SCHEMA}\g<2>", value)
    return _DATABASE_ERROR.sub(rf"\g<1>{DATABASE_ERROR}", value)


def _is_error(value: dict) -> bool:
    return "status" in value and "title" in value


def show(body: Any) -> str:
    """A body as a report shows it: JSON indented, text as it is."""
    if isinstance(body, str):
        return body
    return json.dumps(body, indent=2, sort_keys=True)
