"""Which operations exist at which microversion, read from the spec's projections.

Many microversions share one projection (nothing changed between them). The server mounts
each distinct projection once, under its own prefix, and sends a request to the one its
microversion selects. The same table answers, before Connexion sees a request, whether
the path exists (404) and which methods it allows (405 with `Allow`), so that these
answers come in Placement's order and shape.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import placement_spec
from placement_spec import Microversion

MOUNT_ROOT = "/_microversion"


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern
    operations: dict[str, dict]  # method (upper case) -> projected operation

    @property
    def allowed(self) -> str:
        return ", ".join(self.operations)


@dataclass
class Projection:
    """One distinct projection of the spec, named by the first microversion it describes."""

    first: Microversion
    document: dict
    routes: list[Route] = field(default_factory=list)

    @property
    def mount(self) -> str:
        return f"{MOUNT_ROOT}/{self.first}"

    def match(self, path: str) -> Route | None:
        for route in self.routes:
            if route.pattern.fullmatch(path):
                return route
        return None


def _routes(document: dict) -> list[Route]:
    routes = []
    for template, item in document["paths"].items():
        pattern = re.compile(re.sub(r"\{[^/}]+\}", "[^/]+", template))
        operations = {
            method.upper(): operation
            for method, operation in item.items()
            if method in ("get", "put", "post", "delete", "patch")
        }
        routes.append(Route(template, pattern, operations))
    # Literal paths before templated ones, so `/allocations` never matches `{uuid}`.
    routes.sort(key=lambda route: route.template.count("{"))
    return routes


def projections() -> dict[Microversion, Projection]:
    """Every supported microversion, mapped to the projection that describes it."""
    by_content: dict[str, Projection] = {}
    by_version: dict[Microversion, Projection] = {}
    for version in placement_spec.supported():
        document = placement_spec.project(version)
        key = json.dumps(document, sort_keys=True)
        projection = by_content.get(key)
        if projection is None:
            projection = Projection(version, document, routes=_routes(document))
            by_content[key] = projection
        by_version[version] = projection
    return by_version
