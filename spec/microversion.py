"""Placement microversions: parsing, comparing and the supported range.

A microversion is `major.minor`; it is compared as a pair of integers, so 1.10 comes
after 1.9. The `OpenStack-API-Version` header names it as `placement X.Y` or
`placement latest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class MalformedVersion(ValueError):
    """The text is not a `major.minor` microversion (Placement answers 400)."""


@dataclass(frozen=True, order=True)
class Microversion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "Microversion":
        match = _VERSION.match(text.strip())
        if not match:
            raise MalformedVersion(f"invalid version string: {text}")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


MINIMUM = Microversion(1, 0)
MAXIMUM = Microversion(1, 39)


def supported() -> list[Microversion]:
    """Every microversion the spec describes, oldest first."""
    return [Microversion(1, minor) for minor in range(MINIMUM.minor, MAXIMUM.minor + 1)]


def in_range(version: Microversion, low: str | None, high: str | None) -> bool:
    """Whether `version` lies within an `x-openstack` `min-ver`..`max-ver` range."""
    if low is not None and version < Microversion.parse(str(low)):
        return False
    if high is not None and version > Microversion.parse(str(high)):
        return False
    return True
