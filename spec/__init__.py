"""The Placement allocations spec, loaded once and projected to one microversion.

`openapi.yaml` beside this module is the only place where a request or response shape
is written. It marks what exists only in some microversions with the vendor extension
`x-openstack: {min-ver, max-ver}` (see README.md beside this module). Tools that know
nothing of microversions (Connexion, schemathesis, openapi-spec-validator) are given a
projection instead: a plain OpenAPI document for a single microversion.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from placement_spec.document import (
    CONTROL_PATH,
    EXTENSION,
    SPEC_PATH,
    cached,
    control_cached,
    resolve,
)
from placement_spec.microversion import (
    MAXIMUM,
    MINIMUM,
    MalformedVersion,
    Microversion,
    Range,
    in_range,
    supported,
)

__all__ = [
    "CONTROL_PATH",
    "HTTP_METHODS",
    "MAXIMUM",
    "MINIMUM",
    "MalformedVersion",
    "Microversion",
    "Range",
    "SPEC_PATH",
    "load",
    "load_control",
    "operations",
    "project",
    "project_document",
    "projection",
    "resolve",
    "supported",
]

# The methods an OpenAPI path item may have, in the order operations are listed.
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def load() -> dict:
    """The whole spec, every microversion, as a fresh dictionary."""
    return copy.deepcopy(cached())


def load_control() -> dict:
    """The control API's document (`control.yaml`), as a fresh dictionary: the reference
    server's own operations under `/_placement_ref`, served only with `--control`."""
    return copy.deepcopy(control_cached())


@functools.cache
def projection(version: Microversion) -> dict:
    """The spec at `version`, computed once; never to be changed by its callers
    (`project` gives a copy of it to change)."""
    return _Projection(cached(), version).document()


def project_document(spec: dict, version: Microversion | str) -> dict:
    """Any spec written with the same conventions (an older copy of ours, say), projected
    to one microversion."""
    if isinstance(version, str):
        version = Microversion.parse(version)
    return _Projection(spec, version).document()


def operations(document: dict) -> list[str]:
    """The operations of a (projected) document, named as schemathesis and the reports
    name them: `PUT /allocations/{consumer_uuid}`."""
    return [f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method in HTTP_METHODS if method in item]


def project(version: Microversion | str) -> dict:
    """A plain OpenAPI 3.0.3 document describing the API at exactly `version`."""
    if isinstance(version, str):
        version = Microversion.parse(version)
    if not MINIMUM <= version <= MAXIMUM:
        raise ValueError(f"{version} is outside {MINIMUM}..{MAXIMUM}")
    return copy.deepcopy(projection(version))


class _Projection:
    """One walk over the spec that keeps only what exists at one microversion."""

    def __init__(self, spec: dict, version: Microversion):
        self.spec = spec
        self.version = version

    def document(self) -> dict:
        projected = self._node(self.spec)
        projected["paths"] = {
            path: item
            for path, item in projected["paths"].items()
            if item.keys() & set(HTTP_METHODS)
        }
        return projected

    def _exists(self, node: Any) -> bool:
        """Whether a node (or the object its `$ref` names) exists at this version."""
        target = resolve(self.spec, node)
        if not isinstance(target, dict):
            return True
        marker = target.get(EXTENSION) or {}
        low, high = marker.get("min-ver"), marker.get("max-ver")
        for bound in (low, high):
            if bound is not None and not isinstance(bound, str):
                raise TypeError(f"quote microversion {bound!r}: YAML reads 1.20 as 1.2")
        return in_range(self.version, low, high)

    def _node(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._node(item) for item in node if self._exists(item)]
        if not isinstance(node, dict):
            return node
        if self._is_variant_choice(node):
            return self._node(self._variant(node))
        projected = {
            key: self._node(value)
            for key, value in node.items()
            if key != EXTENSION and self._exists(value)
        }
        if isinstance(projected.get("properties"), dict) and "required" in projected:
            kept = [name for name in projected["required"] if name in projected["properties"]]
            if kept:
                projected["required"] = kept
            else:
                del projected["required"]
        return projected

    @staticmethod
    def _is_variant_choice(node: dict) -> bool:
        return (node.get(EXTENSION) or {}).get("discriminator") == "microversion"

    def _variant(self, choice: dict) -> dict:
        variants = [member for member in choice["oneOf"] if self._exists(member)]
        if len(variants) != 1:
            raise ValueError(
                f"{len(variants)} body variants cover {self.version}, expected exactly one"
            )
        return variants[0]
