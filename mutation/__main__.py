"""python -m mutation: mutate the reference server, run the suite against each mutant,
report the survivors.

    python -m mutation [--all | PATTERN ...] [--max-children N] [--report FILE]
                       [--no-run] [--fail-above PERCENT]

Without a pattern it mutates the allocations family (report.ALLOCATIONS_FAMILY); `--all`
mutates the whole server; a pattern is mutmut's, over mutant names
(`reference_impl.storage.usages.*`). mutmut keeps each mutant's verdict under `mutants/`,
but checks again every mutant a pattern matches; `--no-run` reports the verdicts so far,
which covers mutants checked one by one by name (`python -m mutmut run NAME ...`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from functools import partial
from pathlib import Path

from mutation import equivalents, report
from mutation.results import diff_of, read_mutants

ROOT = Path(__file__).resolve().parent.parent
FAMILY_PATTERNS = [f"{module}.*" for module in report.ALLOCATIONS_FAMILY]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("patterns", nargs="*", default=[], metavar="PATTERN",
                        help="mutmut name patterns of the mutants to check "
                             "(default: the allocations family)")
    chosen.add_argument("--all", action="store_true", help="check every mutant of the server")
    parser.add_argument("--max-children", type=int, default=2,
                        help="mutants checked at once (default: %(default)s)")
    parser.add_argument("--report", type=Path, default=Path("mutation-report.md"),
                        help="where the Markdown report goes (default: %(default)s)")
    parser.add_argument("--no-run", action="store_true",
                        help="only write the report of what earlier runs checked")
    parser.add_argument("--fail-above", type=float, metavar="PERCENT",
                        help="exit 1 when more than this share of the allocations family's "
                             "non-equivalent mutants survive")
    arguments = parser.parse_args(argv)

    if not arguments.no_run:
        patterns = [] if arguments.all else arguments.patterns or FAMILY_PATTERNS
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children",
                        str(arguments.max_children), *patterns], cwd=ROOT, check=True)

    built = report.build(read_mutants(ROOT), equivalents.reviewed(),
                         partial(diff_of, root=ROOT))
    arguments.report.write_text(report.markdown(built))
    print(report.summary(built))
    print(f"report: {arguments.report}")
    survival = built.family.survival
    if arguments.fail_above is not None and survival is not None:
        return int(survival * 100 > arguments.fail_above)
    return 0


if __name__ == "__main__":
    sys.exit(main())
