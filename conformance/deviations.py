"""Known deviations: the failures a deployment is known to have, each with the reason.

A deployment that cannot fix a failure at once still wants its CI to catch every new one.
So it lists the failures it knows of in a YAML file, each keyed by what identifies a
failure in its suite. For the scenarios (`run --known-deviations FILE`), a test:

    - feature: replace-on-put          # the feature file's stem
      test: PUT B puts VCPU on rp2 and MEMORY_MB on rp3, and nothing on rp1
      reason: bug 123456, fixed in the next release

For the fuzzer (`fuzz --known-deviations FILE`), whose requests are generated anew each
run, a check on an operation:

    - check: no_server_error
      operation: PUT /resource_providers/{uuid}/inventories
      reason: bug 123456, a 500 when the capacity overflows a float

A listed failure is reported as a known deviation, which does not fail the run; any other
failure does. Entries must name tests, checks and operations that exist, so that a typo
cannot hide a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

from conformance.exits import UsageError

# What identifies a failure, per suite.
SCENARIO_KEY = ("feature", "test")
FUZZ_KEY = ("check", "operation")


@dataclass(frozen=True)
class KnownDeviation:
    key: tuple[str, ...]  # the values of the suite's key fields, in their order
    reason: str


@dataclass(frozen=True)
class KnownDeviations:
    entries: tuple[KnownDeviation, ...] = ()

    def reason_for(self, *key: str) -> str | None:
        """Why the failure `key` identifies is known to happen here, or None."""
        return next((entry.reason for entry in self.entries if entry.key == key), None)

    def check_names(self, known: Iterable[tuple[str, ...]]) -> None:
        """Refuse entries whose key names nothing of the suite."""
        known = set(known)
        unknown = [entry for entry in self.entries if entry.key not in known]
        if unknown:
            *context, last = unknown[0].key
            raise UsageError("known deviation names nothing the suite has: "
                             + ": ".join([*context, repr(last)]))


def load(path: Path, key: tuple[str, ...] = SCENARIO_KEY) -> KnownDeviations:
    """Read a known-deviations file whose entries are keyed by the fields `key`; anything
    malformed is a usage error (exit 2)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is not YAML: {str(error).splitlines()[0]}") from error
    if document is None:
        return KnownDeviations()
    fields = (*key, "reason")
    if not isinstance(document, list):
        raise UsageError(f"{path}: expected a list of {{{', '.join(fields)}}} entries")
    return KnownDeviations(tuple(_entry(path, number, item, fields)
                                 for number, item in enumerate(document, start=1)))


def _entry(path: Path, number: int, item: object, fields: tuple[str, ...]) -> KnownDeviation:
    if not (isinstance(item, dict) and set(item) == set(fields)
            and all(isinstance(item[name], str) and item[name].strip() for name in fields)):
        raise UsageError(f"{path}: entry {number} must have exactly {', '.join(fields[:-1])} "
                         f"and {fields[-1]}, each a non-empty string")
    return KnownDeviation(key=tuple(item[name] for name in fields[:-1]), reason=item["reason"])
