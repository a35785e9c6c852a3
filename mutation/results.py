"""The mutants mutmut made and what the suite did to each, read through mutmut's own
commands (its files under `mutants/` are its business, not an interface)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# mutmut's verdicts, by what they say about the suite. A timeout is the suite noticing a
# mutant that hangs the server; "no tests" is code the suite never reaches.
KILLED = frozenset({"killed", "timeout", "segfault"})
SURVIVED = frozenset({"survived", "no tests", "suspicious"})


@dataclass(frozen=True)
class Mutant:
    name: str    # reference_impl.storage.usages.x_for_provider__mutmut_3
    status: str  # mutmut's word: killed, survived, no tests, ...

    @property
    def module(self) -> str:
        """The module the mutant changes: reference_impl.storage.usages."""
        return self.name.rsplit(".", 1)[0]

    @property
    def function(self) -> str:
        """The function it changes, as the source names it: `for_provider`, or
        `Class.method` (mutmut writes `x_for_provider` and `xǁClassǁmethod`)."""
        mangled = self.name.rsplit(".", 1)[1].split("__mutmut_")[0]
        if mangled.startswith("xǁ"):
            return mangled[2:].replace("ǁ", ".")
        return mangled.removeprefix("x_")

    @property
    def killed(self) -> bool:
        return self.status in KILLED

    @property
    def survived(self) -> bool:
        return self.status in SURVIVED


def mutmut(*arguments: str, root: Path) -> str:
    """Run one mutmut command in the project's root; what it printed."""
    done = subprocess.run([sys.executable, "-m", "mutmut", *arguments], cwd=root,
                          capture_output=True, text=True, check=True)
    return done.stdout


def read_mutants(root: Path) -> list[Mutant]:
    """Every mutant of the last runs, checked or not, with mutmut's verdict."""
    mutants = []
    for line in mutmut("results", "--all", "true", root=root).splitlines():
        name, separator, status = line.strip().partition(": ")
        if separator:
            mutants.append(Mutant(name, status))
    return mutants


def diff_of(mutant: Mutant, root: Path) -> str:
    """The mutant as a unified diff of its function."""
    shown = mutmut("show", mutant.name, root=root)
    return shown.split("\n", 1)[1] if shown.startswith("#") else shown
