"""Signed submissions end to end over HTTP, on a production-like stack on this machine.

    .venv/bin/python bench/submissions.py                      # 30, 100, then 20/s for 30 s
    .venv/bin/python bench/submissions.py --submissions 1000 --clients 16 --signers 100
    .venv/bin/python bench/submissions.py --profile            # cProfile in the app node

It starts gunicorn app node(s) with the project's `gunicorn.conf.py` (access log off) and
`flask worker --processes N`, on a fresh PostgreSQL database (made when missing, its schema
dropped and rebuilt; within bench/all.py, `<the volume's database>_submissions`), a Redis queue
of its own and local storage shared by every process. Companies are made with a member holding
the Signature role (one of the stand-in FAS's test identities); each logs in over HTTP through
the stand-in FAS (eID card and PIN, behind a reverse proxy that names the client's own address)
and chooses the company. Complete dossiers are copied from one filled in through the real
services (its sections saved, its annexes attached and scanned). Then:

0. before the stack starts, `--in-process` submissions through the Flask test client in this
   process: the SQL statements and the CPU time of each request (figures that another load on
   a shared machine hardly moves);
1. as fast as `--clients` concurrent clients go, each submission is the last steps a person
   takes: the sign page (GET), signing with the declaration on honour (POST, CSRF token of the
   page) and the dossier page it leads to (GET): submissions per second, and the p50/p95 of each
   step;
2. once the worker has made the receipts of step 1, submissions at a steady `--rate` for
   `--duration` seconds, while the database is polled for each dossier's receipt row: the time
   from each submission's answer to its receipt, p50/p95.

Each step prints how the machine's CPU split (the nodes, the workers, this database's
PostgreSQL backends, the clients, the rest of the machine, idle) and the CPU milliseconds each
part spent per submission. With `--profile`, the nodes' gunicorn workers run the app under
cProfile (bench/profiled.py: the dossier pages only, CPU time of each thread) and the functions
taking the most time are printed.
"""

import argparse
import itertools
import logging
import os
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import common
from backoffice_list import QueryCounter, make_app
from cluster import Node
from fas import login_eid
from load import as_fast_as_possible, at_a_rate, drain, run_threads
from stack import CpuSampler, Stack, cpu_split, print_profile
from volume import fresh_database

import models
from helpers import csrf_from, enterprise_number

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/guichet_bench_submit"
PROCEDURE = "enregistrement"
RECEIPT_WAIT_SECONDS = 180
# The stand-in FAS is served by the node itself, which calls it over HTTP during a login: with as
# many logins at once as a gunicorn worker has threads, each can wait for a call that this same
# worker has accepted and cannot serve. Fewer at once (a real FAS is elsewhere).
LOGIN_CLIENTS = 2
STEPS = ["sign page (GET)", "sign and submit (POST)", "dossier page (GET)"]
IN_PROCESS_WARMUP = 3


def parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help=f"PostgreSQL (default {DEFAULT_DATABASE})")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--signers", type=int, default=40, help="companies, one login each")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--submissions", type=int, default=100, help="submissions of step 1")
    parser.add_argument("--warmup", type=int, default=10, help="submissions not timed")
    parser.add_argument("--in-process", type=int, default=30, help="submissions of step 0")
    parser.add_argument("--rate", type=float, default=20, help="submissions/s of step 2")
    parser.add_argument("--duration", type=float, default=30, help="seconds of step 2 (0: none)")
    parser.add_argument("--nodes", type=int, default=1, help="gunicorn app nodes")
    parser.add_argument("--web-concurrency", type=int, help="gunicorn workers per node")
    parser.add_argument("--threads", type=int, help="threads per gunicorn worker")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (--processes)")
    parser.add_argument("--worker-threads", type=int, default=1, help="threads of each")
    parser.add_argument("--profile", action="store_true", help="cProfile the node's workers")
    parser.add_argument("--keep", action="store_true", help="keep the logs' folder")
    return parser


def database_of(args):
    """The bench's PostgreSQL database: `--database-url`; within bench/all.py (which passes
    the shared volume's), a database of its own beside it; PostgreSQL in any case."""
    if hasattr(args, "seeded"):  # bench/all.py
        return f"{args.database_url}_submissions" if args.database_url else DEFAULT_DATABASE
    return args.database_url or DEFAULT_DATABASE


# Preparation, in this process, on the stack's database -------------------------------------


def prepare(args, app, total):
    """(sessions' companies, {company id: [complete dossier ids]}): `args.signers` companies,
    each with a Signature member among the stand-in FAS's identities, and `total` complete
    dossiers shared out among them."""
    import demo
    import procedures
    import sources
    from fas_standin import identities, provider
    from models import Actor, Company, Membership, Person, ProcedureDefinition, Role, utcnow

    with app.app_context():
        # The stand-in FAS's signing key, made before the nodes start: each gunicorn worker
        # would otherwise make one on its first login, and those that race sign with a key
        # that another has replaced (the ID token then fails its signature check).
        provider.signing_key()
        procedures.sync_builtin()
        people = {}
        for identity in identities.all_identities():
            people[identity.card] = Person.create(
                national_number=identity.national_number,
                surname=identity.surname,
                given_name=identity.given_name,
                login_email=identity.email,
            )
        cards = list(people)
        # Each company as the sample register knows the demo's first one (its establishments).
        sources.load_sample_if_empty()
        sample = Company.from_register(sources.company_register().lookup(demo.COMPANIES[0]))
        sample = {k: v for k, v in sample.__data__.items() if k != "id"}
        companies = []
        with models.db.atomic():
            for n in range(args.signers):
                company = Company.create(
                    **{
                        **sample,
                        "enterprise_number": enterprise_number(7_000_000 + n),
                        "name": f"Agence Banc {n} SRL",
                        "activated_at": utcnow(),
                    }
                )
                person = people[cards[n % len(cards)]]
                Membership.create(
                    person=person,
                    company=company,
                    roles=int(Role.SIGN),
                    is_access_manager=True,
                    is_main_access_manager=True,
                    professional_email=person.login_email,
                    professional_email_verified_at=utcnow(),
                )
                companies.append((company.id, cards[n % len(cards)]))
        # One dossier filled in through the services, as a person does in the wizard.
        first, card = companies[0]
        person = people[card]
        membership = Membership.get(Membership.person == person, Membership.company == first)
        actor = Actor.applicant(person, fresh_login=True)
        row = ProcedureDefinition.latest_published(PROCEDURE)
        from dossiers import filling

        template, _created = filling.create(actor, membership, row)
        demo.fill(template, actor, membership)
        template = models.Dossier.get_by_id(template.id)
        assert template.state == models.DossierStatus.COMPLETE, [
            str(i.message) for i in filling.issues(template)
        ]
        owners = itertools.cycle(companies)
        ids = {company_id: [] for company_id, _card in companies}
        ids[first].append(template.id)
        copies = [next(owners)[0] for _ in range(total - 1)]
        ids_made = copy_dossier(template, copies)
        for company_id, dossier_id in zip(copies, ids_made, strict=True):
            ids[company_id].append(dossier_id)
        models.DossierCount.rebuild()  # copies inserted in bulk, not through transitions
        return companies, ids


def copy_dossier(template, company_ids):
    """Ids of copies of the complete dossier `template`, one for each company, each with its
    annexes (their files stored again, under keys of their own)."""
    import storage
    from models import Annex, Dossier

    annexes = list(Annex.select().where(Annex.dossier == template))
    files = {a.id: storage.get_storage().read(a.storage_key) for a in annexes}
    made = []
    with models.db.atomic():
        for company_id in company_ids:
            data = {**template.__data__, "company": company_id}
            data.pop("id")
            copy = Dossier.create(**data)
            for annex in annexes:
                stored = storage.store(files[annex.id])
                row = {**annex.__data__, "dossier": copy.id, "storage_key": stored.key}
                row.pop("id")
                Annex.create(**row)
            made.append(copy.id)
    return made


# The clients -------------------------------------------------------------------------------


class Client:
    """A person's browser, logged in and acting for one company, from an address of its own."""

    def __init__(self, url, n):
        address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 + 1}"
        self.node = Node(url, headers={"X-Forwarded-For": address})
        self.lock = threading.Lock()

    def log_in(self, card, company_id):
        from fas_standin import identities

        identity = identities.by_card(card)
        response = login_eid(self.node, card=identity.card, pin=identity.pin)
        location = response.headers.get("Location", "")
        assert response.status_code == 302 and location.endswith("/entreprises/"), (
            response.status_code,
            location,
            self.node.get(location).text[-3000:],
        )
        response = self.node.form(
            "/entreprises/", "/entreprises/choisir", company_id=str(company_id)
        )
        assert response.status_code == 302, (response.status_code, response.text[:300])

    def submit(self, dossier_id):
        """(sign page ms, sign ms, dossier page ms, whole ms, time.time() of the answer)."""
        path = f"/dossiers/{dossier_id}/signer"
        with self.lock:
            start = time.perf_counter()
            page = self.node.get(path)
            read = time.perf_counter()
            assert page.status_code == 200, (path, page.status_code, page.text[:300])
            data = {"csrf_token": csrf_from(page.text), "declaration": "y"}
            signed = self.node.post(path, data=data)
            answered, when = time.perf_counter(), time.time()
            location = signed.headers.get("Location", "")
            assert signed.status_code == 302 and location.endswith(f"/dossiers/{dossier_id}"), (
                path,
                signed.status_code,
                location,
                signed.text[:300],
            )
            shown = self.node.get(f"/dossiers/{dossier_id}")
            assert shown.status_code == 200, (dossier_id, shown.status_code)
            end = time.perf_counter()
        ms = 1000
        return (
            (read - start) * ms,
            (answered - read) * ms,
            (end - answered) * ms,
            (end - start) * ms,
            when,
        )


def log_in_all(stack, companies):
    """A logged-in Client per company, in the order of `companies`."""
    browsers = [Client(stack.urls[n % len(stack.urls)], n) for n in range(len(companies))]
    jobs = queue.Queue()
    for browser, (company_id, card) in zip(browsers, companies, strict=True):
        jobs.put((browser, company_id, card))
    run_threads(LOGIN_CLIENTS, lambda: drain(jobs, lambda job: job[0].log_in(job[2], job[1])))
    return browsers


def in_turn(companies, ids, count):
    """`count` (company id, dossier id) taken in turn from each company, none twice."""
    taken = []
    while len(taken) < count:
        before = len(taken)
        for company_id, _card in companies:
            if ids[company_id] and len(taken) < count:
                taken.append((company_id, ids[company_id].pop()))
        assert len(taken) > before, "not enough dossiers prepared"
    return taken


def tasks_for(browsers, companies, ids, count):
    """`count` (client, dossier id) taken in turn from each company, none twice."""
    browser_of = {c: b for b, (c, _card) in zip(browsers, companies, strict=True)}
    return [(browser_of[c], dossier_id) for c, dossier_id in in_turn(companies, ids, count)]


def receipts_seen(app, dossier_ids, timeout):
    """{dossier id: time.time() when its receipt row was first seen}, polling every 0.2 s until
    every one is seen or `timeout` seconds have passed."""
    from models import Document

    seen, left = {}, set(dossier_ids)
    deadline = time.monotonic() + timeout
    with app.app_context():
        while left and time.monotonic() < deadline:
            now = time.time()
            found = (
                Document.select(Document.dossier)
                .where(Document.kind == Document.RECEIPT, Document.dossier.in_(list(left)))
                .tuples()
            )
            for (dossier_id,) in found:
                seen[dossier_id] = now
                left.discard(dossier_id)
            time.sleep(0.2)
        models.db.close()
    return seen


# The run -----------------------------------------------------------------------------------


def in_process(report, url, workdir, companies, ids, count):
    """Step 0: the same three requests through the Flask test client in this process, on the
    same database, before the stack starts (no HTTP, no other load of the stack): the SQL
    statements and the CPU time of each. Its receipts are asked for, not made."""
    from config import TestingConfig
    from helpers import login_person
    from models import Company, Membership
    from run import create_app

    config = TestingConfig()
    config.DATABASE_URL = url
    config.INSTANCE_DIR = str(workdir / "instance")
    config.STORAGE_DIR = str(workdir / "storage")
    config.REDIS_URL = None
    config.HUEY_SQLITE_PATH = str(workdir / "huey-in-process.sqlite3")
    config.RATELIMIT_ENABLED = False
    app = create_app(config)
    counter = QueryCounter(models.db)
    clients, rows = {}, []
    turns = in_turn(companies, ids, count + IN_PROCESS_WARMUP)
    for n, (company_id, dossier_id) in enumerate(turns):
        if company_id not in clients:  # its member logged in as the OIDC callback does
            clients[company_id] = client = app.test_client()
            with app.app_context():
                member = Membership.select().where(Membership.company == company_id).get()
                login_person(client, member.person, Company.get_by_id(company_id))
        client = clients[company_id]
        path = f"/dossiers/{dossier_id}/signer"
        marks = [(time.thread_time(), counter.count)]
        page = client.get(path)
        marks.append((time.thread_time(), counter.count))
        data = {"csrf_token": csrf_from(page.text), "declaration": "y"}
        signed = client.post(path, data=data)
        marks.append((time.thread_time(), counter.count))
        shown = client.get(f"/dossiers/{dossier_id}")
        marks.append((time.thread_time(), counter.count))
        assert (page.status_code, signed.status_code, shown.status_code) == (200, 302, 200)
        if n >= IN_PROCESS_WARMUP:
            rows.append([((b[0] - a[0]) * 1000, b[1] - a[1]) for a, b in itertools.pairwise(marks)])
    models.db.close()
    report.print(
        f"step 0: {count} submissions through the test client in this process "
        f"({IN_PROCESS_WARMUP} before, not counted)"
    )
    report.print(f"{'step':24} {'queries':>8} {'CPU p50 ms':>11}")
    for n, name in enumerate(STEPS):
        queries = max(row[n][1] for row in rows)
        report.print(f"{name:24} {queries:8d} {statistics.median(r[n][0] for r in rows):11.1f}")
    total = statistics.median(sum(step[0] for step in row) for row in rows)
    report.print(
        f"{'the three':24} {sum(max(r[n][1] for r in rows) for n in range(3)):8d} {total:11.1f}"
    )


def step_table(report, results):
    report.print(f"{'step':24} {'p50 ms':>8} {'p95 ms':>8}")
    for n, name in enumerate([*STEPS, "the three"]):
        p50, p95 = common.p50_p95([r[1 + n] for r in results])
        report.print(f"{name:24} {p50:8.1f} {p95:8.1f}")


def run(args):
    report = common.Report("Signed submissions end to end over HTTP")
    for name in ("huey", "mail.log"):  # a line per job and per email otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-submit-"))
    url = database_of(args)
    if not url.startswith("postgres"):
        raise SystemExit("bench/submissions.py runs on PostgreSQL (--database-url postgresql://…)")
    fresh_database(url)  # made when missing
    app = make_app(url, workdir)  # its storage is the stack's: workdir / "storage"
    steady = int(args.rate * args.duration)
    total = args.warmup + args.submissions + steady + args.in_process + IN_PROCESS_WARMUP
    started = time.perf_counter()
    companies, ids = prepare(args, app, total)
    models.db.close()
    report.print(
        f"{len(companies)} companies, {total} complete dossiers ({PROCEDURE}, two annexes each) "
        f"prepared in {time.perf_counter() - started:.1f} s"
    )
    if args.in_process:
        in_process(report, url, workdir, companies, ids, args.in_process)
    stack = Stack(
        workdir,
        url,
        args.redis_url,
        nodes=args.nodes,
        web_concurrency=args.web_concurrency,
        threads=args.threads,
        workers=args.workers,
        worker_threads=args.worker_threads,
        profile=args.profile,
    )
    try:
        settings = {
            k: stack.env.get(k, "gunicorn.conf.py default")
            for k in ("WEB_CONCURRENCY", "GUNICORN_THREADS")
        }
        report.print(
            f"stack: {args.nodes} gunicorn node(s) ({settings}), {args.workers} worker "
            f"process(es) x {args.worker_threads} thread(s), PostgreSQL, Redis, local storage"
        )
        started = time.perf_counter()
        browsers = log_in_all(stack, companies)
        report.print(
            f"{len(browsers)} logins through the stand-in FAS in "
            f"{time.perf_counter() - started:.1f} s"
        )
        warm = tasks_for(browsers, companies, ids, args.warmup)
        as_fast_as_possible(warm, args.clients)
        tasks = tasks_for(browsers, companies, ids, args.submissions)
        sampler = CpuSampler(stack)
        sampler.start()
        results, seconds = as_fast_as_possible(tasks, args.clients)
        cpu = sampler.stop()
        per_second = len(results) / seconds
        report.print(
            f"step 1: {len(results)} submissions by {args.clients} clients in {seconds:.1f} s: "
            f"{per_second:.1f} submissions/s ({args.warmup} before, not timed)"
        )
        step_table(report, results)
        per_submission = cpu_split(report, cpu, len(results))
        _p50, post_p95 = common.p50_p95([r[2] for r in results])
        cores = os.cpu_count()
        report.goals.append(
            common.at_least(
                "submissions per second",
                per_second,
                50,
                "/s",
                limit=f"{per_submission:.0f} ms of CPU per submission (nodes, workers, "
                f"PostgreSQL, clients; split above): {cores} cores to themselves would make at "
                f"most {cores * 1000 / per_submission:.0f}/s",
            )
        )
        report.goals.append(common.at_most("submission p95", post_p95, 500))

        # Every receipt of step 1 made before step 2 starts: what the workers keep up with.
        done = [r[0] for r in results] + [t[1] for t in warm]
        started = time.perf_counter()
        seen = receipts_seen(app, done, RECEIPT_WAIT_SECONDS)
        drained = time.perf_counter() - started
        report.print(
            f"the workers' backlog of step 1: {len(seen)} of {len(done)} receipts within "
            f"{drained:.1f} s after it"
        )
        if steady:
            steady_run(args, report, app, stack, browsers, companies, ids, steady)
    finally:
        stack.stop()
        if args.profile:
            print_profile(report, workdir / "profiles")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            report.print(f"logs kept in {workdir}")
    return report


def steady_run(args, report, app, stack, browsers, companies, ids, count):
    """Step 2: `count` submissions at `args.rate`/s, each receipt's delay, p50/p95."""
    tasks = tasks_for(browsers, companies, ids, count)
    sampler = CpuSampler(stack)
    polled = {}
    poller = threading.Thread(
        target=lambda: polled.update(
            receipts_seen(app, [t[1] for t in tasks], args.duration + RECEIPT_WAIT_SECONDS)
        )
    )
    sampler.start()
    poller.start()
    results, seconds, lag = at_a_rate(tasks, args.clients, args.rate)
    cpu = sampler.stop()
    poller.join()
    answered = {r[0]: r[5] for r in results}
    delays = [polled[d] - answered[d] for d in answered if d in polled]
    missing = len(answered) - len(delays)
    p50, p95 = common.p50_p95(delays + [float("inf")] * missing)  # not seen: beyond any target
    report.print(
        f"step 2: {len(results)} submissions at {args.rate:g}/s for {args.duration:g} s "
        f"({len(results) / seconds:.1f}/s reached, start at most {lag:.2f} s late)"
    )
    step_table(report, results)
    cpu_split(report, cpu, len(results))
    report.print(
        f"receipt ready after the submission's answer: p50 {p50:.1f} s, p95 {p95:.1f} s "
        f"({len(delays)} seen, {missing} not within {RECEIPT_WAIT_SECONDS} s)"
    )
    report.goals.append(
        common.at_most(
            f"receipt ready p95 at {args.rate:g}/s",
            p95,
            10,
            "s",
            limit=f"{args.workers} worker process(es) on {os.cpu_count()} shared cores",
        )
    )


def main():
    common.finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
