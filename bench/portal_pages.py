"""How fast the portal answers a logged-in company user: "Mes dossiers" of a company with 5,000
dossiers, and the portal home's requests per second under gunicorn beside a bare Flask app.

    .venv/bin/python bench/portal_pages.py                         # 100 000 dossiers, SQLite
    .venv/bin/python bench/portal_pages.py --dossiers 20000 --profile
    .venv/bin/python bench/portal_pages.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It builds a fresh database with the migrations (the PostgreSQL database must exist; its schema
is dropped and rebuilt) and fills it as the list bench does (`volume.fill`), the first
company holding `--company-dossiers` of them; a person who holds the Signature role there logs
in (a server-side session row, as the login callback makes it) and acts for that company.

"Mes dossiers" and the home are timed through the Flask test client after a warm-up (median and
95th percentile over `--repeat` requests, and the SQL queries of each). Then the same app is
served by gunicorn with the project's `gunicorn.conf.py` (WEB_CONCURRENCY=`--workers`, its own
threads, no access log), and so is a bare Flask "hello" app (`bench/hello_app.py`); a bounded
load (`--requests` requests over `--connections` keep-alive connections, threads in
`--load-processes` processes) asks each for its home page, with the logged-in session cookie for
the portal, after a warm-up. The two are loaded in turn for `--rounds` rounds, so that the
machine's other work meets both alike; the ratio of their requests per second is the goal, and
the CPU time their gunicorn processes took per request (from /proc) is printed beside it, the
figure that other load disturbs least. `--profile` prints the functions that take the time of
each page (cProfile, in-process).

The module's name is the portal package's: an aggregate bench loads it by its path
(`importlib.util.spec_from_file_location`), `run(parser().parse_args([...]))`.
"""

import argparse
import http.client
import itertools
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # its factories and login helper

from backoffice_list import QueryCounter, make_app, measure
from common import Goal, Report, at_most, finish, p50_p95
from common import profile as common_profile
from volume import seed

import models
from helpers import login_person, make_member
from models import Company, Dossier, Membership, Person, Role

MES_DOSSIERS = "/dossiers/"
HOME = "/"
PORTAL_APP = "run:create_app()"
HELLO_APP = "bench.hello_app:create_app()"


def member_of_big_company():
    """A person holding the Signature role in the first company (the one with
    `--company-dossiers`): (person, company)."""
    with models.db.connection_context():
        company = Company.select().order_by(Company.id).first()
        person = (  # a volume kept from a previous run (--reuse) has them already
            Person.select()
            .join(Membership, on=(Membership.person == Person.id))
            .where(Membership.company == company, Person.surname == "Portail")
            .first()
        ) or make_member(company, Role.SIGN, surname="Portail", given_name="Bench")
    return person, company


def logged_in_client(app, person, company):
    """A test client of `app` logged in as `person` for `company`, its session cookie settled
    (the CSRF token of the page's logout form already in it)."""
    client = app.test_client()
    with app.app_context():
        login_person(client, person, company)
    assert client.get(HOME).status_code == 200
    return client


# --- gunicorn and the load --------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(spec, env, port):
    """gunicorn with the project's gunicorn.conf.py serving `spec` on `port`, once it answers."""
    env = {
        **os.environ,
        **env,
        "PORT": str(port),
        "GUNICORN_ACCESS_LOG": "/dev/null",  # a line per request would cost more than the page
        "GUNICORN_LOG_LEVEL": "warning",
    }
    env.pop("GUNICORN_BIND", None)
    process = subprocess.Popen(  # noqa: S603  # nosec B603: our own interpreter and arguments
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), spec],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn {spec} stopped at start (exit {process.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn {spec} did not answer on port {port}")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _connection_loop(port, path, headers, counter, quota, latencies, problems):
    """One keep-alive connection asking `path` until the process's quota is reached."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while next(counter) < quota:
        start = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            problems.append(type(exc).__name__)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            problems.append(f"HTTP {response.status}")
        elif response.getheader("Set-Cookie"):
            problems.append("Set-Cookie")  # the session would change under the load
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()


def _load_process(port, path, headers, quota, connections, results):
    counter, latencies, problems = itertools.count(), [], []
    threads = [
        threading.Thread(
            target=_connection_loop,
            args=(port, path, headers, counter, quota, latencies, problems),
        )
        for _ in range(connections)
    ]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((start, time.monotonic(), latencies, problems))


def load(port, path, headers, requests, connections, processes):
    """`requests` GETs of `path` over `connections` keep-alive connections spread over
    `processes` processes: (seconds, latencies in ms, problems)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = []
    for n in range(processes):
        quota = requests // processes + (1 if n < requests % processes else 0)
        share = connections // processes + (1 if n < connections % processes else 0)
        workers.append(
            context.Process(target=_load_process, args=(port, path, headers, quota, share, results))
        )
    for worker in workers:
        worker.start()
    gathered = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    seconds = max(g[1] for g in gathered) - min(g[0] for g in gathered)
    return seconds, [x for g in gathered for x in g[2]], [x for g in gathered for x in g[3]]


def server_cpu(master):
    """CPU seconds used so far by a gunicorn master and its workers (Linux /proc)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(entry.name) == master or int(fields[1]) == master:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Served:
    """One app under gunicorn and what the load measured of it, round after round."""

    def __init__(self, label, spec, path, headers):
        self.label, self.spec, self.path, self.headers = label, spec, path, headers
        self.seconds = self.cpu = 0.0
        self.latencies, self.problems = [], []

    def start(self, env):
        self.port = free_port()
        self.process = serve(self.spec, env, self.port)

    def measure(self, requests, args, keep=True):
        cpu = server_cpu(self.process.pid)
        seconds, latencies, problems = load(
            self.port, self.path, self.headers, requests, args.connections, args.load_processes
        )
        self.problems += problems
        if keep:
            self.seconds += seconds
            self.cpu += server_cpu(self.process.pid) - cpu
            self.latencies += latencies

    @property
    def rate(self):
        return len(self.latencies) / self.seconds

    @property
    def cpu_per_request(self):
        return self.cpu * 1000 / len(self.latencies)

    def line(self):
        assert not self.problems, f"{self.label}: {len(self.problems)} failed, {self.problems[:3]}"
        p50, p95 = p50_p95(self.latencies)
        return (
            f"{self.label:24} {self.rate:7.0f} req/s   p50 {p50:5.1f} ms   p95 {p95:5.1f} ms   "
            f"server CPU {self.cpu_per_request:5.2f} ms/request"
        )


def side_by_side(served, env, args):
    """Each app served by its own gunicorn, warmed up, then loaded in turn for `--rounds`
    rounds: both meet the same load of the machine's other work as it comes and goes."""
    try:
        for one in served:
            one.start(env)
        for one in served:
            one.measure(args.requests // 4, args, keep=False)
        for _ in range(args.rounds):
            for one in served:
                one.measure(args.requests // args.rounds, args)
    finally:
        for one in served:
            if getattr(one, "process", None) is not None:
                stop(one.process)


def run(args):
    report = Report("Portal: Mes dossiers and the home page")
    seeded = seed(args)
    url, workdir = seeded.url, seeded.workdir
    person, company = member_of_big_company()
    secret = secrets.token_urlsafe(32)
    app = make_app(url, workdir)  # also makes the development seal the gunicorn workers share
    app.config["SECRET_KEY"] = secret
    with app.app_context():
        shown = Dossier.select().where(Dossier.company == company).count()
    report.print(
        f"{args.dossiers} dossiers, {args.companies} companies on {url.split(':')[0]}, "
        f"{shown} of them in the user's company: filled in {seeded.seconds:.1f} s"
    )

    counter = QueryCounter(models.db)
    client = logged_in_client(app, person, company)
    report.print(f"{'request (test client)':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    timed = {}
    for label, path in (("Mes dossiers", MES_DOSSIERS), ("home, logged in", HOME)):
        timed[label] = measure(client, counter, path, args.repeat)
        median, p95, queries = timed[label]
        report.print(f"{label:32} {median:10.1f} {p95:8.1f} {queries:8d}")
    if args.profile:
        report.print("profile (cProfile, by own time):")
        for path in (MES_DOSSIERS, HOME):
            for line in common_profile(client, path, args.repeat):
                report.print(line)

    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    headers = {"Cookie": f"{cookie.key}={cookie.value}"}
    env = {
        "GUICHET_ENV": "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": url,
        "GUICHET_INSTANCE_DIR": str(workdir / "instance"),
        "STORAGE_DIR": str(workdir / "storage"),
        "HUEY_SQLITE_PATH": str(workdir / "huey.sqlite3"),
        "WORKER_IN_PROCESS": "0",
        "WEB_CONCURRENCY": str(args.workers),
    }
    report.print(
        f"gunicorn ({args.workers} workers, gunicorn.conf.py threads), {args.requests} requests "
        f"each over {args.connections} connections from {args.load_processes} processes, "
        f"in {args.rounds} rounds:"
    )
    bare = Served("bare Flask hello", HELLO_APP, "/", {})
    mine = Served("portal home, logged in", PORTAL_APP, HOME, headers)
    side_by_side([bare, mine], env, args)
    report.print(bare.line())
    report.print(mine.line())
    ratio = mine.rate / bare.rate
    report.print(
        f"portal home / bare Flask: {ratio:.2f} in requests/s, "
        f"{bare.cpu_per_request / mine.cpu_per_request:.2f} in server CPU per request"
    )

    report.goals.append(at_most("mes dossiers p95", timed["Mes dossiers"][1], 50))
    if ratio < 0.33 and not args.profile:  # what the home spends its time on
        report.print("profile of the home, logged in (cProfile, by cumulative time):")
        for line in common_profile(client, HOME, args.repeat, top=30, sort="cumulative"):
            report.print(line)
    report.goals.append(
        Goal(
            "portal home vs bare flask",
            f"{ratio:.2f} ({mine.rate:.0f} / {bare.rate:.0f} req/s)",
            "≥ 0.33",
            ratio >= 0.33,
            "a logged-in page is Flask's request cycle with its session cookie, the login's "
            "session row, CSRF token, security headers and the layout's template (the profile "
            "above), against a bare Flask view; both apps share the 2 cores with the load "
            "generator",
        )
    )
    models.db.close()
    return report


def parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dossiers", type=int, default=100_000)
    p.add_argument("--companies", type=int, default=5_000)
    p.add_argument("--company-dossiers", type=int, default=5_000)
    p.add_argument("--repeat", type=int, default=50)
    p.add_argument("--requests", type=int, default=4_000)
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--load-processes", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=5)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--database-url")
    return p


def main():
    finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
