"""Placement microversions: parsing, comparing, ranges and the range the spec serves.

A microversion is `major.minor`; it is compared as a pair of integers, so 1.10 comes
after 1.9. The `OpenStack-API-Version` header names it as `placement X.Y` or
`placement latest`. The range the spec describes is written once, in its
`info.x-openstack`; `MINIMUM` and `MAXIMUM` are read from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from placement_spec import document

_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_HEADER_VALUE = re.compile(r"placement (\d+\.\d+)")


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


def named_in_header(value: str | None) -> str | None:
    """The "X.Y" of an `OpenStack-API-Version` value `placement X.Y`, as written; None for
    `placement latest`, anything else, or no value."""
    match = _HEADER_VALUE.fullmatch(value or "")
    return match.group(1) if match else None


def parse_or_none(text: str | None) -> Microversion | None:
    """The microversion `text` names, or None for no text, "latest" or anything malformed."""
    try:
        return Microversion.parse(text or "")
    except MalformedVersion:
        return None


def _version_or_none(text: object) -> Microversion | None:
    if text is None or text == "":
        return None
    try:
        return Microversion.parse(str(text))
    except MalformedVersion as error:
        raise ValueError(f"not a microversion: {text!r}") from error


@dataclass(frozen=True)
class Range:
    """From `low` to `high`, both included; None is open on that side."""

    low: Microversion | None = None
    high: Microversion | None = None

    def covers(self, version: Microversion) -> bool:
        return (self.low is None or self.low <= version) and (
            self.high is None or version <= self.high)

    def intersect(self, other: "Range") -> "Range":
        lows = [v for v in (self.low, other.low) if v is not None]
        highs = [v for v in (self.high, other.high) if v is not None]
        return Range(max(lows, default=None), min(highs, default=None))

    @classmethod
    def of(cls, low: object, high: object) -> "Range":
        """A range from two optional "X.Y" texts, as `x-openstack` and the api-ref hold them."""
        return cls(_version_or_none(low), _version_or_none(high))


def spec_range(spec: dict) -> Range | None:
    """The microversions a spec says it describes (its `info.x-openstack`), if it says."""
    marker = spec.get("info", {}).get(document.EXTENSION) or {}
    if "min-ver" not in marker or "max-ver" not in marker:
        return None
    return Range.of(marker["min-ver"], marker["max-ver"])


def between(low: Microversion, high: Microversion) -> list[Microversion]:
    """Every microversion from `low` to `high` of one major version, oldest first."""
    return [Microversion(low.major, minor) for minor in range(low.minor, high.minor + 1)]


def _served() -> tuple[Microversion, Microversion]:
    served = spec_range(document.cached())
    if served is None or served.low is None or served.high is None:
        raise ValueError("the spec must name the microversions it describes in "
                         "info.x-openstack: {min-ver, max-ver}")
    return served.low, served.high


MINIMUM, MAXIMUM = _served()


def supported() -> list[Microversion]:
    """Every microversion the spec describes, oldest first."""
    return between(MINIMUM, MAXIMUM)


def in_range(version: Microversion, low: str | None, high: str | None) -> bool:
    """Whether `version` lies within an `x-openstack` `min-ver`..`max-ver` range."""
    return Range.of(low, high).covers(version)


def describe(versions: Iterable[Microversion]) -> str:
    """A set of microversions as runs: "1.0-1.11, 1.28", or "none"."""
    runs: list[list[Microversion]] = []
    for version in sorted(set(versions)):
        last = runs[-1][-1] if runs else None
        if last and last.major == version.major and last.minor + 1 == version.minor:
            runs[-1].append(version)
        else:
            runs.append([version])
    if not runs:
        return "none"
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)
