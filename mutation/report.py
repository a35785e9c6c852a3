"""The mutation report: counts per module, the allocations family's score, and each
survivor with its diff, as Markdown for a reader and a one-screen summary for a log."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from mutation.equivalents import Equivalent
from mutation.results import Mutant

# The handlers and storage of the operations under /allocations and a provider's
# allocations, and the capacity rules their writes keep: the part of the server the
# project grew from, held to the strictest bar.
ALLOCATIONS_FAMILY = ("reference_impl.handlers.allocations", "reference_impl.storage.allocations",
                      "reference_impl.storage.capacity")
FAMILY_TARGET = 0.10  # at most this share of the family's non-equivalent mutants survive


@dataclass
class Tally:
    """What became of a set of mutants."""

    killed: int = 0
    equivalent: int = 0
    survived: int = 0
    unchecked: int = 0  # made, but not run yet

    @property
    def made(self) -> int:
        return self.killed + self.equivalent + self.survived + self.unchecked

    @property
    def survival(self) -> float | None:
        """Survivors as a share of the checked, non-equivalent mutants."""
        judged = self.killed + self.survived
        return self.survived / judged if judged else None


@dataclass
class Report:
    by_module: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    survivors: list[tuple[Mutant, str]] = field(default_factory=list)  # with their diffs
    equivalents: list[Equivalent] = field(default_factory=list)
    stale: list[Equivalent] = field(default_factory=list)  # reviews that no longer apply

    def total(self, modules: Iterable[str] | None = None) -> Tally:
        chosen = self.by_module if modules is None else {
            name: self.by_module[name] for name in modules if name in self.by_module}
        tally = Tally()
        for part in chosen.values():
            tally.killed += part.killed
            tally.equivalent += part.equivalent
            tally.survived += part.survived
            tally.unchecked += part.unchecked
        return tally

    @property
    def family(self) -> Tally:
        return self.total(ALLOCATIONS_FAMILY)


def build(mutants: Iterable[Mutant], reviewed: dict[str, Equivalent],
          diff_of: Callable[[Mutant], str]) -> Report:
    """Sort each mutant into its module's tally; a survivor that a current review covers
    is equivalent, and a review whose mutant was killed or changed is stale."""
    report = Report()
    for mutant in sorted(mutants, key=lambda m: m.name):
        tally = report.by_module[mutant.module]
        review = reviewed.get(mutant.name)
        if mutant.killed:
            tally.killed += 1
            if review:
                report.stale.append(review)
        elif mutant.survived:
            diff = diff_of(mutant)
            if review and review.matches(diff):
                tally.equivalent += 1
                report.equivalents.append(review)
            else:
                tally.survived += 1
                report.survivors.append((mutant, diff))
                if review:
                    report.stale.append(review)
        else:
            tally.unchecked += 1
    return report


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _row(name: str, tally: Tally) -> str:
    return (f"| {name} | {tally.made} | {tally.killed} | {tally.equivalent} | "
            f"{tally.survived} | {tally.unchecked} | {_percent(tally.survival)} |")


def markdown(report: Report) -> str:
    family = report.family
    lines = [
        "# Mutation report of the reference server",
        "",
        f"Allocations family ({', '.join(ALLOCATIONS_FAMILY)}): "
        f"{family.survived} of {family.killed + family.survived} non-equivalent mutants "
        f"survive ({_percent(family.survival)}; the target is below {FAMILY_TARGET:.0%}).",
        "",
        "| module | made | killed | equivalent | survived | not run | survived, of those run |",
        "|---|---|---|---|---|---|---|",
        *(_row(name, tally) for name, tally in sorted(report.by_module.items())
          if tally.made > tally.unchecked),
        _row("**all**", report.total()),
        "",
        "## Survivors",
        "",
    ]
    for mutant, diff in report.survivors:
        lines += [f"### `{mutant.name}` ({mutant.status})", "", "```diff", diff.rstrip(), "```", ""]
    lines += ["## Equivalent mutants", ""]
    lines += [f"- `{review.mutant}`: {review.reason}" for review in report.equivalents]
    if report.stale:
        lines += ["", "## Stale reviews (the mutant no longer makes the reviewed change)", ""]
        lines += [f"- `{review.mutant}`: `{review.change}`" for review in report.stale]
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    """A few lines for the end of a run."""
    total, family = report.total(), report.family
    return "\n".join([
        f"mutants: {total.made} made, {total.killed} killed, {total.equivalent} equivalent, "
        f"{total.survived} survived, {total.unchecked} not run",
        f"allocations family: {family.survived} of {family.killed + family.survived} "
        f"survived ({_percent(family.survival)}, target below {FAMILY_TARGET:.0%})",
        *([f"stale reviews: {len(report.stale)}"] if report.stale else []),
    ])
