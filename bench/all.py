"""Every bench in one run, as users would judge the service: `make bench` (SQLite, 100,000
dossiers, minutes) and `make bench-full` (PostgreSQL, 1,000,000).

    .venv/bin/python bench/all.py                                   # SQLite, 100 000
    .venv/bin/python bench/all.py --dossiers 1000000 --database-url postgresql://postgres@127.0.0.1/guichet_bench
    .venv/bin/python bench/all.py --only backoffice_list portal     # some of them

The volume is seeded once (with a progress line) and shared by the benches that read it (the
back-office list, the REST API's list, the portal; `--reuse` keeps the one a previous run of
the same size left);
the receipt bench makes its copies in a database of its own (`<database>_receipts`), the annex
bench in a SQLite file, the end-to-end bench in a PostgreSQL database of its own. Each bench's
table is printed as it runs; the whole run is appended to bench/RESULTS.md with the machine and
the command, and the last lines printed are the goals,
one per line: `goal <name>: <measured> (target <target>) met|missed`.
"""

import argparse
import importlib.util
import shlex
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common

# In this order: the ones that read the shared volume first.
BENCHES = [
    "backoffice_list",
    "api_list",
    "statistics_pages",
    "portal_pages",
    "submissions",
    "receipts",
    "annexes",
]
SHARED = ("dossiers", "companies", "company_dossiers", "database_url", "reuse")


def load(name):
    """The bench module `name`, by its file, under its own name (the processes a bench spawns
    import it again)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def arguments(name, module, args, seeded):
    """The bench's own defaults, with the run's volume and database."""
    own = module.parser().parse_args([])
    for shared in SHARED:  # a bench that seeds reads them all (volume.seed)
        if getattr(args, shared) is not None:
            setattr(own, shared, getattr(args, shared))
    own.seeded = seeded
    if name == "receipts" and own.database_url:  # its copies in a database of their own
        own.database_url = f"{own.database_url}_receipts"
    return own


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--company-dossiers", type=int, default=5_000)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the volume a previous run seeded (same size)"
    )
    parser.add_argument("--only", nargs="+", choices=BENCHES, help="these benches alone")
    args = parser.parse_args()
    command = " ".join(shlex.quote(a) for a in ["python", "bench/all.py", *sys.argv[1:]])

    reports, seeded = [], None
    for name in args.only or BENCHES:
        started = time.perf_counter()
        print(f"\n== {name}", flush=True)
        module = load(name)
        own = arguments(name, module, args, seeded)
        try:
            report = module.run(own)
        except Exception as error:  # the other benches still run; the failure is recorded
            report = common.Report(f"{name}: failed")
            report.print(traceback.format_exc())
            report.goals.append(common.Goal(name, "failed", "runs", False, repr(error)))
        seeded = getattr(own, "seeded", None) or seeded
        report.print(f"({name}: {time.perf_counter() - started:.0f} s)")
        reports.append(report)
    common.record(reports, command)


if __name__ == "__main__":
    main()
