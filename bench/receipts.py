"""How long the worker takes to make one sealed receipt, and how many it makes per second.

    .venv/bin/python bench/receipts.py                      # 50 receipts, SQLite, one process
    .venv/bin/python bench/receipts.py --receipts 200 --processes 2
    .venv/bin/python bench/receipts.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It builds a fresh database with the migrations (the PostgreSQL database must exist; its schema
is dropped and rebuilt), loads the demo data (its submitted dossier signed through the real
services), copies that dossier and its signature as many times as receipts are asked for, then
calls the worker's job (`dossiers.documents.produce_receipt`: render, seal, store, record) for
each copy. The first `--warmup` receipts of each process are left out of the figures (the
first one loads the seal key and the fonts); it prints the median and 95th percentile of the
wall and CPU time per receipt, and the receipts made per second. With `--processes`, as many
worker processes share the copies, each claiming its own, as `flask worker` processes would.
"""

import argparse
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backoffice_list import fresh_database, make_app

import models
from models import Document, Dossier, Signature


def copies_of_a_submitted_dossier(app, count):
    """Ids of `count` copies of the demo's submitted dossier, each with its signature."""
    import demo

    with app.app_context():
        demo.seed()
        signature = (
            Signature.select()
            .join(Dossier)
            .where(Dossier.status == "submitted")
            .order_by(Dossier.id)
            .first()
        )
        original = signature.dossier
        ids = []
        with models.db.atomic():
            for n in range(count):
                data = original.__data__.copy()
                data.pop("id")
                data["reference"] = f"{original.reference}-{n:05d}"[:32]
                copy = Dossier.create(**data)
                signed = signature.__data__.copy()
                signed.pop("id")
                signed["dossier"] = copy.id
                Signature.create(**signed)
                ids.append(copy.id)
        return ids


def make_receipts(app, ids):
    """[(wall ms, cpu ms)] of the receipt of each dossier, made in this process."""
    from dossiers import documents

    times = []
    for dossier_id in ids:
        with app.app_context():
            wall, cpu = time.perf_counter(), time.process_time()
            document = documents.produce_receipt(dossier_id)
            times.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000))
            assert document is not None, f"no receipt for dossier {dossier_id}"
    return times


def worker(url, workdir, ids, warmup, results):
    logging.getLogger("huey").setLevel(logging.WARNING)
    app = make_app(url, workdir)
    make_receipts(app, ids[:warmup])
    start = time.perf_counter()
    times = make_receipts(app, ids[warmup:])
    results.put((times, start, time.perf_counter()))


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=50, help="receipts timed (per run)")
    parser.add_argument("--warmup", type=int, default=3, help="receipts per process not timed")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    logging.getLogger("huey").setLevel(logging.WARNING)  # a line per job otherwise

    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    fresh_database(url)
    app = make_app(url, workdir)
    per_process = -(-args.receipts // args.processes)
    ids = copies_of_a_submitted_dossier(app, args.processes * (per_process + args.warmup))
    models.db.close()

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    chunk = per_process + args.warmup
    processes = [
        context.Process(
            target=worker,
            args=(url, workdir, ids[i * chunk : (i + 1) * chunk], args.warmup, results),
        )
        for i in range(args.processes)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
        assert process.exitcode == 0, "a bench process failed"

    times = [t for outcome in outcomes for t in outcome[0]]
    elapsed = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    walls, cpus = [t[0] for t in times], [t[1] for t in times]
    with app.app_context():
        made = Document.select().where(Document.kind == Document.RECEIPT).count()
    print(
        f"{len(times)} receipts on {url.split(':')[0]}, {args.processes} process(es), "
        f"{args.warmup} per process not timed ({made} receipt rows in all)"
    )
    print(f"{'per receipt':14} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'wall':14} {statistics.median(walls):8.1f} {percentile(walls, 0.95):8.1f}")
    print(f"{'CPU':14} {statistics.median(cpus):8.1f} {percentile(cpus, 0.95):8.1f}")
    print(f"receipts/s     {len(times) / elapsed:8.2f}")


if __name__ == "__main__":
    main()
