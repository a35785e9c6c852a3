"""The spec file itself: where it is, reading it once, and following its `$ref`s."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
# The reference server's own control API, which is no part of Placement.
CONTROL_PATH = Path(__file__).with_name("control.yaml")
# The vendor extension that carries a microversion range (and marks body variants).
EXTENSION = "x-openstack"


@functools.cache
def cached() -> dict:
    """The whole spec, read once; never to be changed by its callers."""
    return _read(SPEC_PATH)


@functools.cache
def control_cached() -> dict:
    """The control API's document, read once; never to be changed by its callers."""
    return _read(CONTROL_PATH)


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def resolve(document: dict, node: Any) -> Any:
    """`node`, or, if it is a local `$ref`, the object it names (followed until it is
    not a reference)."""
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(document, node["$ref"])
    return node


def pointer(document: dict, ref: str) -> Any:
    """The object a local reference (`#/components/schemas/Error`) names."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node
