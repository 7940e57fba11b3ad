"""How fast the REST API's dossier list answers at volume: the first page, a deep page reached
by the cursor, each filter, and one dossier, with a read token (every call also writes its
`api.call` audit row, as in production).

    .venv/bin/python bench/api_list.py                       # 100 000 dossiers, SQLite
    .venv/bin/python bench/api_list.py --dossiers 20000
    .venv/bin/python bench/api_list.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It fills a fresh database as the back-office list's bench does (`volume.fill`: a third
of the dossiers drafts, never listed), makes a token through the service, and times each call
through the Flask test client after a warm-up: median and 95th percentile over `--repeat`
calls, and the SQL statements per call (constant whatever the volume: joins, no query per row,
no COUNT). The deep page is the one after the middle dossier of the list's default order
(oldest change first), as following `next` would reach it. The issue's goal: p95 ≤ 100 ms per
page at a million dossiers.
"""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backoffice_list import QueryCounter, make_app
from common import Report, at_most, finish, p50_p95
from volume import parser as volume_parser
from volume import seed

import models
from models import Actor, Company, Dossier, utcnow

GOAL_MS = 100


def deep_cursor(app, position):
    """The cursor `next` carries after `position` dossiers of the default order."""
    from api import dossiers as api_dossiers
    from dossiers import keyset

    sort = api_dossiers.SORTS["updated_at"]
    args = {"sort": "updated_at", "limit": 50}
    with app.test_request_context():
        row = (
            Dossier.select()
            .where(Dossier.is_staff_visible())
            .order_by(*keyset.order(sort, False))
            .offset(position - 1)
            .first()
        )
        context = api_dossiers.cursor_context(args)
        return keyset.Cursor(
            "updated_at", False, row.updated_at, row.id, 1, context=context
        ).encode()


def timed(client, counter, url, headers, repeat):
    for _ in range(3):  # warm: connections open, caches filled
        client.get(url, headers=headers)
    times, queries = [], []
    for _ in range(repeat):
        before = counter.count
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        queries.append(counter.count - before)
        assert response.status_code == 200, (url, response.status_code, response.json)
    median, p95 = p50_p95(times)
    return median, p95, max(queries)


def run(args):
    from access import api_tokens

    report = Report(f"REST API dossier list, {args.dossiers:,} dossiers")
    seeded = seed(args)
    sample, code, url, workdir = seeded.sample, seeded.code, seeded.url, seeded.workdir
    report.print(
        f"{args.dossiers} dossiers, {args.companies} companies on {seeded.engine}: "
        f"filled in {seeded.seconds:.1f} s"
    )
    app = make_app(url, workdir)
    with app.app_context():
        # A name of its own: a volume kept from a previous run (--reuse) has that one's.
        name = f"bench-{utcnow():%Y%m%d-%H%M%S-%f}"
        _token, secret = api_tokens.create(Actor.system(), name, "read")
        company = Company.get_by_id(sample.company_id).enterprise_number
        deep = deep_cursor(app, args.dossiers // 3)
        since = sample.updated_at.isoformat()
    headers = {"Authorization": f"Bearer {secret}"}
    counter = QueryCounter(models.db)
    client = app.test_client()
    base = "/api/v1/dossiers"
    cases = [
        ("first page (50)", base),
        ("first page (100)", f"{base}?limit=100"),
        ("deep page (cursor)", f"{base}?cursor={deep}"),
        ("newest first", f"{base}?sort=-updated_at"),
        ("by submission, newest first", f"{base}?sort=-submitted_at"),
        ("filter: status", f"{base}?status=processing"),
        ("filter: procedure", f"{base}?procedure={code}"),
        ("filter: company", f"{base}?company={company}"),
        ("filter: updated_since", f"{base}?updated_since={since}"),
        ("filter: submitted range", f"{base}?submitted_from=2026-01-01&submitted_to=2026-03-31"),
        ("one dossier", f"{base}/{sample.id}"),
    ]
    report.print(f"{'call':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    worst = 0.0
    for label, path in cases:
        median, p95, queries = timed(client, counter, path, headers, args.repeat)
        report.print(f"{label:32} {median:10.1f} {p95:8.1f} {queries:8d}")
        if label != "one dossier":
            worst = max(worst, p95)
    report.goals.append(
        at_most(f"API list p95 per page at {args.dossiers:,} dossiers (worst case)", worst, GOAL_MS)
    )
    return report


def parser():
    return volume_parser(__doc__)


def main():
    finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
