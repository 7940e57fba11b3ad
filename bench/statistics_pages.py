"""How fast the statistics pages answer at volume: the supervisors' page (tables and charts of
every procedure), its CSV, and the public page of processing times, read from the kept
monthly rows whatever the number of dossiers; and how long `statistics rebuild` takes.

    .venv/bin/python bench/statistics_pages.py                       # 100 000 dossiers, SQLite
    .venv/bin/python bench/statistics_pages.py --dossiers 2000
    .venv/bin/python bench/statistics_pages.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It reads the volume the back-office list's bench fills (`volume.seed`: dossiers
inserted in bulk over 700 days, not through the transitions), gives its closed dossiers a
closing date (0 to 89 days after their submission) when they have none, computes the kept
statistics with the rebuild (timed), then times each page through the Flask test client after
a warm-up (median and 95th percentile over `--repeat` requests, and the SQL statements per
request: a few, whatever the volume). Named `statistics_pages`: a `statistics.py` here would
hide the standard library's module from the benches.
"""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backoffice_list import QueryCounter, login, make_app, measure
from common import Goal, Report, at_most, finish
from volume import parser as volume_parser
from volume import seed

import database
import models
from models import Dossier, MonthlyStatistics

GOAL_MS = 100


def close_dates():
    """A closing date for the closed dossiers seeded without one (the bulk insert leaves it
    empty), so that the processing times have something to count."""
    if isinstance(models.db.obj, database.SqliteDatabase):
        closed_at = "datetime(submitted_at, '+' || (id % 90) || ' days')"
    else:
        closed_at = "submitted_at + MOD(id, 90) * interval '1 day'"
    models.db.execute_sql(
        f"UPDATE dossier SET closed_at = {closed_at} "  # noqa: S608 - our own SQL
        "WHERE status = 'closed' AND closed_at IS NULL"
    )


def parser(description=__doc__):
    return volume_parser(description)


def run(args):
    report = Report(f"Statistics pages, {args.dossiers:,} dossiers")
    seeded = seed(args)
    report.print(
        f"{args.dossiers} dossiers, {args.companies} companies on {seeded.engine}: "
        f"filled in {seeded.seconds:.1f} s"
    )
    app = make_app(seeded.url, seeded.workdir)
    with app.app_context():
        close_dates()
        start = time.perf_counter()
        months, days = MonthlyStatistics.rebuild()
        rebuilt = time.perf_counter() - start
        closed = Dossier.select().where(Dossier.status == "closed").count()
    report.print(
        f"statistics rebuild: {rebuilt:.1f} s for {len(months)} procedure months and "
        f"{len(days)} day buckets ({closed:,} closed dossiers)"
    )
    counter = QueryCounter(models.db)
    staff_client = app.test_client()
    login(staff_client, seeded.staff)
    public_client = app.test_client()
    cases = [
        ("supervisors' page", staff_client, "/admin/statistics/"),
        ("supervisors' CSV", staff_client, "/admin/statistics/statistics.csv"),
        ("public page", public_client, "/statistiques"),
        ("public page in German", public_client, "/statistiques?lang=de"),
    ]
    report.print(f"{'request':28} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    results = {}
    for label, client, path in cases:
        results[label] = measure(client, counter, path, args.repeat)
        median, p95, queries = results[label]
        report.print(f"{label:28} {median:10.1f} {p95:8.1f} {queries:8d}")
    most = max(queries for _m, _p, queries in results.values())
    report.goals += [
        at_most("statistics page p95", results["supervisors' page"][1], GOAL_MS),
        at_most("statistics CSV p95", results["supervisors' CSV"][1], GOAL_MS),
        at_most("public statistics page p95", results["public page"][1], GOAL_MS),
        Goal("queries per statistics page", str(most), "≤ 10", most <= 10),
    ]
    models.db.close()
    return report


def main():
    finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
