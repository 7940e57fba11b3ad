"""How long a background export of the dossier list takes at volume, and how much memory the
worker needs for it.

    .venv/bin/python bench/exports.py                       # 100 000 dossiers, SQLite
    .venv/bin/python bench/exports.py --dossiers 20000 --batch 2000
    .venv/bin/python bench/exports.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It fills a fresh database as bench/volume.py does, asks for a CSV and an XLSX export of
the whole list as a supervisor (dossiers.exports.request_export), then runs each job
(dossiers.exports.make_export) in a fresh child process, so that its peak RSS
(resource.getrusage) is the job's alone; a child that only builds the app gives the baseline.

On the development machine (2 cores shared), 150 000 dossiers seeded, of which 99 961 staff see
(the drafts are not exported), batch 2000: SQLite CSV 10.5 s (12.1 MB), XLSX 14.4 s (4.6 MB);
PostgreSQL CSV 10.8 s, XLSX 16.6 s; peak RSS 160 MB for every job against 148 MB for the app
alone — the same as with 66 533 rows (memory does not grow with the list).
"""

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from backoffice_list import make_app
from volume import fill, fresh_database

import models


def child(url, workdir, batch, export_id, out):
    """In a fresh interpreter: build the app, run the job (or nothing), report time and RSS."""
    app = make_app(url, Path(workdir))
    app.config["EXPORT_BATCH_SIZE"] = batch
    start = time.perf_counter()
    rows = size = 0
    if export_id is not None:
        from dossiers import exports

        with app.app_context():
            models.db.connect(reuse_if_open=True)
            export = exports.make_export(export_id)
            assert export is not None and export.status == "ready", "the export failed"
            rows, size = export.rows_done, export.size
    elapsed = time.perf_counter() - start
    out.put((elapsed, rows, size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def run_child(url, workdir, batch, export_id):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=child, args=(url, str(workdir), batch, export_id, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-exports-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    start = time.perf_counter()
    fresh_database(url)
    staff, _sample, _code = fill(args.dossiers, args.companies)
    print(
        f"{args.dossiers} dossiers, {args.companies} companies on {url.split(':')[0]}: "
        f"filled in {time.perf_counter() - start:.1f} s; batch {args.batch}"
    )
    app = make_app(url, workdir)
    app.extensions["jobs"].make_export = lambda export_id: None  # run below, in a child
    from dossiers import exports

    ids = {}
    for fmt in ("csv", "xlsx"):
        with app.test_request_context("/admin/dossiers/"):
            models.db.connect(reuse_if_open=True)
            actor = models.Actor.staff_member(models.StaffUser.get_by_id(staff.id))
            export = exports.request_export(actor, "dossiers", {}, fmt)
            ids[fmt] = export.id
        models.db.close()
    _elapsed, _rows, _size, baseline = run_child(url, workdir, args.batch, None)
    print(f"{'job':6} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'MB':>7} {'peak RSS MB':>12}")
    print(f"{'(app)':6} {'':>8} {'':>8} {'':>8} {'':>7} {baseline / 1024:12.1f}")
    for fmt, export_id in ids.items():
        elapsed, rows, size, peak = run_child(url, workdir, args.batch, export_id)
        print(
            f"{fmt:6} {rows:8d} {elapsed:8.1f} {rows / elapsed:8.0f} {size / 1e6:7.1f} "
            f"{peak / 1024:12.1f}"
        )


if __name__ == "__main__":
    main()
