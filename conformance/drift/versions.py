"""Microversion ranges read from the api-ref's prose and from a spec.

Both sides of every comparison are evaluated one microversion at a time, so a range is
only needed at the edges: to read "(microversions 1.12 - 1.27)" from a section title
(ranges and their printing are `placement_spec.microversion`'s).
"""

from __future__ import annotations

import re

from placement_spec import Microversion, supported
from placement_spec.microversion import Range, between, spec_range

# "(microversions 1.12 - 1.27)", "(1.38 - )", "(microversions 1.20 - )"
_BRACKETED_RANGE = re.compile(
    r"\((?:microversions?\s+)?(\d+\.\d+)\s*-\s*(\d+\.\d+)?\s*\)", re.IGNORECASE)
# "Method is available starting from version 1.7", "Available as of microversion 1.13"
_AVAILABLE_FROM = re.compile(
    r"available\s+(?:starting\s+from|as\s+of|from|since)\s+(?:micro)?version\s+(\d+\.\d+)",
    re.IGNORECASE)

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
    described = spec_range(spec)
    return between(described.low, described.high) if described else supported()
