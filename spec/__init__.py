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
from pathlib import Path
from typing import Any

import yaml

from placement_spec.microversion import (
    MAXIMUM,
    MINIMUM,
    MalformedVersion,
    Microversion,
    in_range,
    supported,
)

__all__ = [
    "HTTP_METHODS",
    "MAXIMUM",
    "MINIMUM",
    "MalformedVersion",
    "Microversion",
    "SPEC_PATH",
    "load",
    "operations",
    "project",
    "project_document",
    "supported",
]

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
EXTENSION = "x-openstack"

# The methods an OpenAPI path item may have, in the order operations are listed.
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@functools.cache
def _load_cached() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def load() -> dict:
    """The whole spec, every microversion, as a fresh dictionary."""
    return copy.deepcopy(_load_cached())


@functools.cache
def _project_cached(version: Microversion) -> dict:
    return _Projection(_load_cached(), version).document()


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
    return copy.deepcopy(_project_cached(version))


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
        target = self._resolve(node)
        if not isinstance(target, dict):
            return True
        marker = target.get(EXTENSION) or {}
        low, high = marker.get("min-ver"), marker.get("max-ver")
        for bound in (low, high):
            if bound is not None and not isinstance(bound, str):
                raise TypeError(f"quote microversion {bound!r}: YAML reads 1.20 as 1.2")
        return in_range(self.version, low, high)

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        node = self.spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

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
