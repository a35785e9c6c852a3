"""Known deviations: the tests a deployment is known to fail, each with the reason.

A deployment that cannot fix a failure at once still wants its CI to catch every new one.
So it lists the failures it knows of in a YAML file (`run --known-deviations FILE`):

    - feature: replace-on-put          # the feature file's stem
      test: PUT B puts VCPU on rp2 and MEMORY_MB on rp3, and nothing on rp1
      reason: bug 123456, fixed in the next release

A listed test that fails is reported as a known deviation, which does not fail the run;
any other failure does. Entries must name tests that exist, so that a typo cannot hide a
failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.cli import UsageError

FIELDS = ("feature", "test", "reason")


@dataclass(frozen=True)
class KnownDeviation:
    feature: str
    test: str
    reason: str


@dataclass(frozen=True)
class KnownDeviations:
    entries: tuple[KnownDeviation, ...] = ()

    def reason_for(self, feature: str, test: str) -> str | None:
        """Why `test` of `feature` is known to fail here, or None when it is not."""
        return next((entry.reason for entry in self.entries
                     if (entry.feature, entry.test) == (feature, test)), None)

    def check_names(self, tests: set[tuple[str, str]]) -> None:
        """Refuse entries that name no test of the suite: (feature, test name) pairs."""
        unknown = [entry for entry in self.entries if (entry.feature, entry.test) not in tests]
        if unknown:
            raise UsageError(f"known deviation names no test: {unknown[0].feature}: "
                             f"{unknown[0].test!r}")


def load(path: Path) -> KnownDeviations:
    """Read a known-deviations file; anything malformed is a usage error (exit 2)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is not YAML: {str(error).splitlines()[0]}") from error
    if document is None:
        return KnownDeviations()
    if not isinstance(document, list):
        raise UsageError(f"{path}: expected a list of {{feature, test, reason}} entries")
    return KnownDeviations(tuple(_entry(path, number, item)
                                 for number, item in enumerate(document, start=1)))


def _entry(path: Path, number: int, item: object) -> KnownDeviation:
    if not (isinstance(item, dict) and set(item) == set(FIELDS)
            and all(isinstance(item[name], str) and item[name].strip() for name in FIELDS)):
        raise UsageError(f"{path}: entry {number} must have exactly a feature, a test and "
                         f"a reason, each a non-empty string")
    return KnownDeviation(**{name: item[name] for name in FIELDS})
