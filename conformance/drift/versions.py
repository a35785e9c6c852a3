"""Microversion ranges: read from the api-ref's prose and the spec, written back compactly.

Both sides of every comparison are evaluated one microversion at a time, so a range is
only needed at the edges: to read "(microversions 1.12 - 1.27)" from a section title,
and to print a set of microversions as "1.0-1.11, 1.28" in a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from placement_spec import MalformedVersion, Microversion, supported

# "(microversions 1.12 - 1.27)", "(1.38 - )", "(microversions 1.20 - )"
_BRACKETED_RANGE = re.compile(
    r"\((?:microversions?\s+)?(\d+\.\d+)\s*-\s*(\d+\.\d+)?\s*\)", re.IGNORECASE)
# "Method is available starting from version 1.7", "Available as of microversion 1.13"
_AVAILABLE_FROM = re.compile(
    r"available\s+(?:starting\s+from|as\s+of|from|since)\s+(?:micro)?version\s+(\d+\.\d+)",
    re.IGNORECASE)


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
        """A range from two optional "X.Y" texts, as parameters.yaml and x-openstack hold them."""
        return cls(_version_or_none(low), _version_or_none(high))


EVERY = Range()


def bracketed_range(text: str) -> Range:
    """The "(microversions X - Y)" range in a title or a status line; every version if none."""
    match = _BRACKETED_RANGE.search(text)
    return Range.of(match.group(1), match.group(2)) if match else EVERY


def available_from(text: str) -> Range:
    """The range that sentences like "available starting from version 1.7" give."""
    lows = [Microversion.parse(found) for found in _AVAILABLE_FROM.findall(text)]
    return Range(max(lows, default=None), None)


def universe(spec: dict) -> list[Microversion]:
    """The microversions a spec describes: its `info.x-openstack` range, else the project's."""
    marker = spec.get("info", {}).get("x-openstack") or {}
    if "min-ver" not in marker or "max-ver" not in marker:
        return supported()
    low = Microversion.parse(str(marker["min-ver"]))
    high = Microversion.parse(str(marker["max-ver"]))
    return [Microversion(low.major, minor) for minor in range(low.minor, high.minor + 1)]


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


def _version_or_none(text: object) -> Microversion | None:
    if text is None or text == "":
        return None
    try:
        return Microversion.parse(str(text))
    except MalformedVersion as error:
        raise ValueError(f"not a microversion: {text!r}") from error
