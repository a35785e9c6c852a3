"""Which operations exist, and at which microversion, read from the spec.

Routing answers in Placement's terms before Connexion sees a request: a path no
microversion knows is a 404; a method the path never has is a 405 with `Allow` listing
the methods it has at any microversion; a method the path has, but not at the requested
microversion, is what upstream's version check answers (404, or 405 without `Allow` for
the one operation whose absence upstream reports that way).

Many microversions share one projection of the spec (nothing changed between them). The
server mounts each distinct projection once, under its own prefix, and sends a request to
the one its microversion selects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import placement_spec
from placement_spec import HTTP_METHODS, Microversion

MOUNT_ROOT = "/_microversion"

# Upstream answers a request below this operation's first microversion with 405 (and no
# Allow header); every other operation it answers with 404.
ABSENT_AS_405 = {("DELETE", "/resource_providers/{uuid}/inventories")}


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern
    methods: tuple[str, ...]  # upper case, every method the path has at any microversion

    @property
    def allowed(self) -> str:
        return ", ".join(self.methods)

    def absent_status(self, method: str) -> int:
        return 405 if (method, self.template) in ABSENT_AS_405 else 404


@dataclass(frozen=True)
class Projection:
    """One distinct projection of the spec, named by the first microversion it describes."""

    first: Microversion
    document: dict

    @property
    def mount(self) -> str:
        # Connexion's routers try the mounts in the order of their paths, and most clients
        # ask for a recent microversion: these paths sort the newest first.
        return f"{MOUNT_ROOT}/{999 - self.first.major:03}.{999 - self.first.minor:03}"

    def operation(self, route: Route, method: str) -> dict | None:
        return self.document["paths"].get(route.template, {}).get(method.lower())


def routes() -> list[Route]:
    """Every path of the spec, literal paths first so `/allocations` never matches `{uuid}`."""
    table = [
        Route(template, re.compile(re.sub(r"\{[^/}]+\}", "[^/]+", template)),
              tuple(method.upper() for method in item if method in HTTP_METHODS))
        for template, item in placement_spec.load()["paths"].items()
    ]
    return sorted(table, key=lambda route: route.template.count("{"))


def match(table: list[Route], path: str) -> Route | None:
    return next((route for route in table if route.pattern.fullmatch(path)), None)


def projections() -> dict[Microversion, Projection]:
    """Every supported microversion, mapped to the projection that describes it."""
    by_content: dict[str, Projection] = {}
    by_version: dict[Microversion, Projection] = {}
    for version in placement_spec.supported():
        document = placement_spec.project(version)
        key = json.dumps(document, sort_keys=True)
        by_version[version] = by_content.setdefault(key, Projection(version, document))
    return by_version
