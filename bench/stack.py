"""A production-like stack on this machine for the benches that go over HTTP (gunicorn app
nodes, `flask worker` processes, PostgreSQL, Redis, local storage), how the machine's CPU
splits while it runs, and the profile of its nodes (`profile=True`, bench/profiled.py)."""

import io
import os
import pstats
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cluster import Processes, base_environment, forget_queue, healthy, wait_until

from smtp import SMTPServer, free_port

BUSY = "machine busy"
OUTSIDE = ("other processes", "idle")  # not the stack's


class Stack:
    """gunicorn app nodes and `flask worker` processes on the database `url`, Redis (a queue
    of its own), local storage in `workdir` shared by all, mail to an SMTP sink, the stand-in
    FAS; `urls` are the nodes' addresses. `profile`: the nodes under cProfile (bench/profiled.py)
    writing to `workdir`/profiles."""

    def __init__(
        self,
        workdir,
        url,
        redis_url,
        nodes=1,
        web_concurrency=None,
        threads=None,
        workers=1,
        worker_threads=1,
        profile=False,
    ):
        from documents.seal import development_seal_files

        self.queue = f"guichet-bench-{secrets.token_hex(4)}"
        self.redis_url = redis_url
        self.processes = Processes(workdir)
        self.smtp = SMTPServer().start()
        ports = [free_port() for _ in range(nodes)]
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]
        cert, key = development_seal_files(workdir / "seal")
        env = {
            **base_environment(),
            "GUICHET_ENV": "development",
            "SECRET_KEY": "bench-stack-" + "k" * 40,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "HUEY_NAME": self.queue,
            "SEAL_CERT_FILE": str(cert),
            "SEAL_KEY_FILE": str(key),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.smtp.port),
            "PUBLIC_BASE_URL": self.urls[0],
            "FAS_STANDIN_ENABLED": "1",
            "WORKER_IN_PROCESS": "0",
            # Behind one reverse proxy, which names each client's address.
            "PROXY_FIX_HOPS": "1",
            "GUICHET_INSTANCE_DIR": str(workdir / "instance"),
            "STORAGE_DIR": str(workdir / "storage"),
            "GUNICORN_LOG_LEVEL": "warning",
            "GUNICORN_ACCESS_LOG": "/dev/null",  # as bench/portal_pages.py: the app, not the log
        }
        for name, value in (
            ("WEB_CONCURRENCY", web_concurrency),
            ("GUNICORN_THREADS", threads),
        ):
            if value:
                env[name] = str(value)
        self.env = env
        self.profile_dir = workdir / "profiles" if profile else None
        if self.profile_dir:
            self.profile_dir.mkdir()
        try:
            for n, port in enumerate(ports):
                node_env = {**env}
                app_factory = "run:create_app()"
                if self.profile_dir:
                    node_env["BENCH_PROFILE_DIR"] = str(self.profile_dir)
                    node_env["PYTHONPATH"] = str(ROOT / "bench")
                    app_factory = "profiled:create_app()"
                self.processes.node(f"node-{n}", port, node_env, app_factory)
            # One `flask worker` of `workers` consumer processes (periodic tasks on the first).
            self.processes.worker(
                "worker", env, "--processes", str(workers), "--workers", str(worker_threads)
            )
            for node_url in self.urls:
                wait_until(lambda u=node_url: healthy(u), f"{node_url} not up", self.processes)
        except BaseException:
            self.stop()
            raise

    def pids(self):
        """{name: pid} of the stack's processes, PostgreSQL's and Redis' servers aside."""
        return {name: process.pid for name, process, _log in self.processes.running}

    def stop(self):
        self.processes.stop()
        self.smtp.stop()
        forget_queue(self.redis_url, self.queue)


class CpuSampler:
    """CPU seconds used by each of the stack's processes (with their children) and by the
    database and Redis servers, between `start` and `stop`: how the machine's CPU splits."""

    def __init__(self, stack):
        self.stack = stack
        self.database = urlsplit(stack.env["DATABASE_URL"]).path.lstrip("/")

    @staticmethod
    def ticks():
        """{(command, pid): user+system ticks} of every process on the machine."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            parent = int(fields[1])
            found[int(entry.name)] = (parent, cmdline, int(fields[11]) + int(fields[12]))
        return found

    def group_of(self, pid, table, roots):
        seen = 0
        while pid in table and seen < 50:
            if pid in roots:
                return roots[pid]
            command = table[pid][1]
            if command.startswith("postgres:"):
                ours = f" {self.database} " in command
                return "postgresql (this database)" if ours else "postgresql (other)"
            if "redis-server" in command:
                return "redis"
            pid, seen = table[pid][0], seen + 1
        return None

    def snapshot(self):
        roots = {pid: name.split("-")[0] for name, pid in self.stack.pids().items()}
        roots[os.getpid()] = "bench clients"
        table = self.ticks()
        totals = {}
        for pid, (_parent, _command, ticks) in table.items():
            group = self.group_of(pid, table, roots)
            key = group or "other processes"
            totals[key] = totals.get(key, 0) + ticks
        with open("/proc/stat") as f:  # the machine's own count, processes gone since included
            first = [int(n) for n in f.readline().split()[1:]]
        totals[BUSY] = sum(first[:8]) - first[3] - first[4]  # all but idle and iowait (guest
        # time is counted in user time already)
        return totals, time.perf_counter()

    def start(self):
        self.before = self.snapshot()

    def stop(self):
        """({group: CPU seconds}, wall seconds) since start."""
        (before, t0), (after, t1) = self.before, self.snapshot()
        hz = os.sysconf("SC_CLK_TCK")
        used = {g: (after.get(g, 0) - before.get(g, 0)) / hz for g in after}
        return dict(sorted(used.items(), key=lambda x: -x[1])), t1 - t0


def cpu_split(report, cpu, count):
    """Print how the machine's CPU split during a step, and the CPU time of each of the stack's
    groups per submission (a figure that another load on the machine changes less); returns
    the stack's CPU ms per submission, all its groups together."""
    used, wall = cpu
    cores = os.cpu_count()
    busy = used.pop(BUSY)
    ours = {g: seconds for g, seconds in used.items() if g != "other processes"}
    ours["other processes"] = max(busy - sum(ours.values()), used.get("other processes", 0))
    ours["idle"] = max(wall * cores - busy, 0)
    shown = {g: seconds for g, seconds in ours.items() if seconds / (wall * cores) > 0.005}
    report.print(
        f"CPU of the machine ({cores} cores = 100%), and CPU ms per submission: "
        + ", ".join(
            f"{group} {seconds / (wall * cores) * 100:.0f}%"
            + ("" if group in OUTSIDE else f" {seconds / count * 1000:.0f} ms")
            for group, seconds in sorted(shown.items(), key=lambda x: -x[1])
        )
    )
    return sum(s for g, s in ours.items() if g not in OUTSIDE) / count * 1000


def print_profile(report, folder):
    files = sorted(folder.glob("*.prof"))
    if not files:
        report.print("no profile written")
        return
    stats = pstats.Stats(*map(str, files))
    for key, title, count in (("tottime", "own", 25), ("cumulative", "cumulative", 40)):
        report.print(f"profile of the nodes' workers ({len(files)} thread(s)), by {title} time:")
        for line in profile_lines(stats, key, count):
            report.print(line)


def profile_lines(stats, key, count):
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats(key).print_stats(count)
    text = out.getvalue().splitlines()
    start = next((n for n, line in enumerate(text) if "ncalls" in line), 0)
    return [line[:160] for line in text[start:] if line.strip()]
