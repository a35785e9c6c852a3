"""Mutants reviewed as equivalent: edits that change the code but nothing a client sees.

A score that counted them as survivors would ask for scenarios no server could fail, so
each is listed in `equivalent.yaml` with the reason a reviewer gave. mutmut names a
mutant by its function and its rank there, and the rank moves when the function changes;
so each entry also quotes the line the mutant wrote, and an entry whose mutant no longer
writes it is stale: it is reported for review again, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

REVIEWED = Path(__file__).with_name("equivalent.yaml")


@dataclass(frozen=True)
class Equivalent:
    mutant: str  # mutmut's name of the mutant
    change: str  # text of the line the mutant writes, as its diff shows it
    reason: str  # why no client can tell the mutant from the server

    def matches(self, diff: str) -> bool:
        """Whether `diff` (the mutant's, today) still writes the reviewed line."""
        added = [line[1:] for line in diff.splitlines()
                 if line.startswith("+") and not line.startswith("+++")]
        return any(self.change in line for line in added)


def reviewed(path: Path = REVIEWED) -> dict[str, Equivalent]:
    """The reviewed list, by mutant name."""
    entries = yaml.safe_load(path.read_text()) or []
    return {entry["mutant"]: Equivalent(**entry) for entry in entries}
