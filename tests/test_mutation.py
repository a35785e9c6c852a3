"""The mutation-testing command (`python -m mutation`): it runs mutmut against the
suite, and its report counts each verdict where it belongs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mutation import equivalents, report
from mutation.equivalents import Equivalent
from mutation.results import Mutant

ROOT = Path(__file__).resolve().parent.parent

FLIPPED = """--- reference_impl/storage/usages.py
+++ reference_impl/storage/usages.py
@@ -1,3 +1,3 @@
-        .join(classes_table, classes_table.c.id == allocations.c.resource_class_id)
+        .join(classes_table, None)
"""


def test_a_mutant_names_its_module_and_function() -> None:
    plain = Mutant("reference_impl.storage.usages.x__for_project_query__mutmut_12", "survived")
    method = Mutant("reference_impl.validation.xǁValidatorǁvalidate__mutmut_3", "killed")
    assert (plain.module, plain.function) == ("reference_impl.storage.usages",
                                              "_for_project_query")
    assert (method.module, method.function) == ("reference_impl.validation",
                                                "Validator.validate")


def test_a_review_holds_only_while_the_mutant_writes_the_reviewed_line() -> None:
    review = Equivalent("m", ".join(classes_table, None)", "the only foreign key")
    assert review.matches(FLIPPED)
    assert not review.matches(FLIPPED.replace("None)", "classes_table.c.id != 1)"))
    # The line the mutant removed is no match: only what it writes counts.
    assert not Equivalent("m", "allocations.c.resource_class_id", "").matches(FLIPPED)


def test_the_report_sorts_each_verdict() -> None:
    family = report.ALLOCATIONS_FAMILY[0]
    mutants = [
        Mutant(f"{family}.x_replace__mutmut_1", "killed"),
        Mutant(f"{family}.x_replace__mutmut_2", "timeout"),
        Mutant(f"{family}.x_replace__mutmut_3", "survived"),    # reviewed, still equivalent
        Mutant(f"{family}.x_replace__mutmut_4", "survived"),    # reviewed, but changed since
        Mutant(f"{family}.x_replace__mutmut_5", "no tests"),
        Mutant(f"{family}.x_replace__mutmut_6", "not checked"),
        Mutant("reference_impl.uuids.x_canonical__mutmut_1", "killed"),
    ]
    reviewed = {name: Equivalent(name, ".join(classes_table, None)", "same query")
                for name in (f"{family}.x_replace__mutmut_3", f"{family}.x_replace__mutmut_4",
                             f"{family}.x_replace__mutmut_1")}
    diffs = {f"{family}.x_replace__mutmut_4": FLIPPED.replace("None)", "1)")}

    built = report.build(mutants, reviewed, lambda mutant: diffs.get(mutant.name, FLIPPED))

    tally = built.by_module[family]
    assert (tally.made, tally.killed, tally.equivalent, tally.survived, tally.unchecked) == (
        6, 2, 1, 2, 1)
    assert built.family.survival == 0.5
    assert [mutant.name for mutant, _ in built.survivors] == [
        f"{family}.x_replace__mutmut_4", f"{family}.x_replace__mutmut_5"]
    # A review of a killed mutant, or of one that writes another line now, is stale.
    assert sorted(review.mutant for review in built.stale) == [
        f"{family}.x_replace__mutmut_1", f"{family}.x_replace__mutmut_4"]
    assert built.total().killed == 3
    text = report.markdown(built)
    assert "2 of 4 non-equivalent mutants survive (50.0%" in text
    assert "```diff\n" + FLIPPED.replace("None)", "1)").rstrip() + "\n```" in text


def test_the_reviewed_list_is_well_formed() -> None:
    """Each entry names a mutant, quotes its line and gives a reason."""
    for name, review in equivalents.reviewed().items():
        assert name.startswith("reference_impl.") and "__mutmut_" in name
        assert review.change.strip() and review.reason.strip()


def test_the_command_runs_mutmut_and_reports_its_verdicts(tmp_path: Path) -> None:
    """Two mutants of UUID parsing, in a copy of the project (mutmut writes beside the
    code): one fails on every UUID, the other reads none as a UUID; the suite must
    notice both."""
    for part in ("reference_impl", "mutation", "tests"):
        shutil.copytree(ROOT / part, tmp_path / part,
                        ignore=shutil.ignore_patterns("__pycache__", "mutants"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "mutation", "--max-children", "1",
         "reference_impl.uuids.x_canonical__mutmut_[12]"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    written = (tmp_path / "mutation-report.md").read_text()
    assert "| reference_impl.uuids | " in written
    row = next(line for line in written.splitlines() if line.startswith("| reference_impl.uuids"))
    made, killed, equivalent, survived, unchecked = (int(cell) for cell in row.split("|")[2:7])
    assert (killed, survived, unchecked) == (2, 0, made - 2)
