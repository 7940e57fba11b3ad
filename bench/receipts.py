"""How long the worker takes to make one sealed receipt, and how many it makes per second.

    .venv/bin/python bench/receipts.py           # 50 receipts, SQLite, in 1 then 2 processes
    .venv/bin/python bench/receipts.py --receipts 200 --processes 1 2 4
    .venv/bin/python bench/receipts.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It builds a fresh database with the migrations (the PostgreSQL database must exist; its schema
is dropped and rebuilt), loads the demo data (its submitted dossier signed through the real
services), copies that dossier and its signature as many times as receipts are asked for, then
calls the worker's job (`dossiers.documents.produce_receipt`: render, seal, store, record) for
each copy. For each count of `--processes`, as many worker processes share `--receipts` copies
of their own, each claiming its own, as the processes of `flask worker --processes N` would;
the first `--warmup` receipts of each process are left out of the figures (the first one loads
the seal key and the fonts). It prints the median and 95th percentile of the wall and CPU time
per receipt and the receipts made per second for each count, where the CPU time of one receipt
was spent (a profile of the job's steps in this process), and the goal: a receipt's CPU p95 in
one process.
"""

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common
from backoffice_list import make_app
from volume import fresh_database

import models
from models import Document, Dossier, Signature

GOAL_MS = 50
LIMIT = (
    "one core's CPU per receipt, spent in the libraries (the steps above): fpdf2's layout "
    "and PDF writing, fontTools' subsets, pyHanko's CMS structures (RSA itself about 3 ms)"
)
# The job's steps, timed in this process: (label, module, owner of the function, its name).
STEPS = [
    ("render (layout, fonts, PDF written)", "documents.receipt", None, "render_receipt"),
    ("  of which fonts subset, PDF written", "documents.layout", "GuichetPdf", "output_bytes"),
    ("seal (pyHanko)", "documents.seal", None, "sign_pdf"),
    ("store and record", "dossiers.documents", None, "issue"),
]


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


def in_processes(url, workdir, ids, count, warmup):
    """(times, receipts per second) of `count` processes sharing `ids`, each its own slice."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters, as the worker's
    results = context.Queue()
    chunk = len(ids) // count
    processes = [
        context.Process(
            target=worker, args=(url, workdir, ids[n * chunk : (n + 1) * chunk], warmup, results)
        )
        for n in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
        assert process.exitcode == 0, "a bench process failed"
    times = [t for outcome in outcomes for t in outcome[0]]
    elapsed = max(o[2] for o in outcomes) - min(o[1] for o in outcomes)
    return times, len(times) / elapsed


def profile(app, ids):
    """The CPU ms per receipt of the job and of each of its steps, over `ids` made in this
    process (each step's function wrapped in a CPU timer: a profiler would weigh Python
    code above C code)."""
    import importlib

    spent = {label: 0.0 for label, *_ in STEPS}
    undo = []
    for label, module, owner, name in STEPS:
        holder = importlib.import_module(module)
        holder = getattr(holder, owner) if owner else holder
        inner = getattr(holder, name)

        def timed(*args, _inner=inner, _label=label, **kwargs):
            cpu = time.process_time()
            try:
                return _inner(*args, **kwargs)
            finally:
                spent[_label] += time.process_time() - cpu

        setattr(holder, name, timed)
        undo.append((holder, name, inner))
    try:
        make_receipts(app, ids[:1])  # the seal key and the fonts loaded before
        for label in spent:
            spent[label] = 0.0
        times = make_receipts(app, ids[1:])
    finally:
        for holder, name, inner in undo:
            setattr(holder, name, inner)
    made = len(ids) - 1
    return sum(cpu for _, cpu in times) / made, {k: v * 1000 / made for k, v in spent.items()}


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=50, help="receipts timed per process count")
    p.add_argument("--warmup", type=int, default=3, help="receipts per process not timed")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="process counts")
    p.add_argument("--profile", type=int, default=20, help="receipts profiled (0: none)")
    p.add_argument("--database-url")
    return p


def run(args):
    report = common.Report("Receipts: the worker's sealed receipts")
    logging.getLogger("huey").setLevel(logging.WARNING)  # a line per job otherwise
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    fresh_database(url)
    app = make_app(url, workdir)
    runs = []
    for count in args.processes:
        per_process = -(-args.receipts // count) + args.warmup
        runs.append((count, per_process * count))
    profiled = args.profile + 1 if args.profile else 0
    ids = copies_of_a_submitted_dossier(app, sum(n for _, n in runs) + profiled)
    models.db.close()

    report.print(
        f"{args.receipts} receipts per process count on {url.split(':')[0]}, "
        f"{args.warmup} per process not timed"
    )
    report.print(
        f"{'processes':>9} {'wall p50':>9} {'wall p95':>9} {'CPU p50':>8} {'CPU p95':>8} "
        f"{'receipts/s':>10}"
    )
    start, cpu_p95 = 0, {}
    for count, n in runs:
        times, rate = in_processes(url, workdir, ids[start : start + n], count, args.warmup)
        start += n
        wall = common.p50_p95([t[0] for t in times])
        cpu = common.p50_p95([t[1] for t in times])
        cpu_p95[count] = cpu[1]
        report.print(
            f"{count:9d} {wall[0]:9.1f} {wall[1]:9.1f} {cpu[0]:8.1f} {cpu[1]:8.1f} {rate:10.2f}"
        )
    if profiled:
        job, steps = profile(app, ids[start : start + profiled])
        report.print(f"where the CPU goes, {args.profile} receipts in one process (ms each):")
        report.print(f"  {'the job (produce_receipt)':40} {job:6.1f}")
        for label, *_ in STEPS:
            report.print(f"  {label:40} {steps.get(label, 0):6.1f}")
    with app.app_context():
        made = Document.select().where(Document.kind == Document.RECEIPT).count()
    report.print(f"({made} receipt rows in all)")
    fewest = min(cpu_p95)  # the least contended: CPU time per receipt grows with the load
    report.goals.append(common.at_most("receipt CPU p95", cpu_p95[fewest], GOAL_MS, limit=LIMIT))
    return report


def main():
    common.finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
