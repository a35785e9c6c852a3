"""`python -m tests.differential`: longer differential runs, seed after seed.

    python -m tests.differential --seeds 20 --requests 400 [--seed-start N] [--strict]
                                 [--coverage] [--peer-venv DIR]

Each seed's walk runs against both servers started afresh on empty databases; the command
prints, per seed, the requests sent and the differences found, then every difference
with its seed and step (which reproduce it: `--seed-start SEED --seeds 1` and the same
`--requests` or more). Exit 0 when nothing differs, 1 on any difference, 2 on a usage
error. Upstream runs from the virtualenv named by `--peer-venv` or `PLACEMENT_PEER_VENV`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.differential import strict
from tests.differential.servers import fresh_servers
from tests.differential.walk import coverage, summary, walk
from tests.peer import peer_venv_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--requests", type=int, default=400,
                        help="requests per seed (default 400)")
    parser.add_argument("--seed-start", type=int, default=0, help="the first seed (default 0)")
    parser.add_argument("--strict", action="store_true",
                        help="start the reference server with --strict, and allow the "
                             "differences of its table (tests/differential/strict.py)")
    parser.add_argument("--coverage", action="store_true",
                        help="also print how often each kind of request got each status "
                             "from upstream")
    parser.add_argument("--peer-venv", type=Path, default=peer_venv_from_env(),
                        help="upstream Placement's virtualenv (default: PLACEMENT_PEER_VENV)")
    options = parser.parse_args(argv)
    if options.peer_venv is None:
        parser.error("no upstream Placement: give --peer-venv or set PLACEMENT_PEER_VENV")
    if options.strict:
        print(strict.describe(), file=sys.stderr)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="differential-") as folder:
        for seed in range(options.seed_start, options.seed_start + options.seeds):
            with fresh_servers(options.peer_venv, Path(folder) / f"seed-{seed}",
                               strict=options.strict) as servers:
                outcome = walk(seed, options.requests, servers)
            print(f"seed {seed}: {outcome.sent} requests, {len(outcome.differences)} "
                  f"difference(s)", file=sys.stderr, flush=True)
            outcomes.append(outcome)
    if options.coverage:
        print(coverage(outcomes), end="\n\n")
    print(summary(outcomes))
    return 1 if any(outcome.differences for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
