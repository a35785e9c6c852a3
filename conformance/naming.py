"""How everything a run of the harness makes is named: after the run's id.

A deployment under test may be shared with real users and with other runs. So every
provider a run makes starts with `conformance-<run id>-`, every custom resource class and
custom trait with `CUSTOM_CONFORMANCE_<RUN ID>_`: leftovers can be traced, and a run removes its own data
and nothing else (`conformance.cleanup`).
"""

from __future__ import annotations

import re
import uuid


def new_run_id() -> str:
    """A short id, new for each run."""
    return uuid.uuid4().hex[:8]


def run_provider_prefix(run_id: str) -> str:
    """How the names of every provider a run makes start."""
    return f"conformance-{slug(run_id, '-')}-".lower()


def run_class_prefix(run_id: str) -> str:
    """How the names of every resource class a run makes start."""
    return f"CUSTOM_CONFORMANCE_{slug(run_id, '_')}_".upper()


def run_trait_prefix(run_id: str) -> str:
    """How the names of every custom trait a run makes start (as its classes')."""
    return run_class_prefix(run_id)


def slug(text: str, separator: str) -> str:
    """`text` with every run of other characters than letters and digits made `separator`.

    Resource class names allow only `[A-Z0-9_]`; provider names are kept as plain.
    """
    return re.sub(r"[^A-Za-z0-9]+", separator, text)
