"""A production-like stack on this machine, for the two-node test and the submission bench:
gunicorn app nodes (`gunicorn.conf.py`) and `flask worker` processes, each a subprocess with an
environment of its own, on a PostgreSQL database made for the run and a Redis queue of its own;
and `Node`, a browser's view of one node over real HTTP."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import redis
import requests
from huey import RedisHuey

from helpers import csrf_from

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60
# Settings of the machine the stack must not inherit: each process gets them from its caller.
OWN_SETTINGS = ("DATABASE_", "REDIS_", "SECRET_", "S3_", "STORAGE_", "MAIL_")


class Node:
    """A browser's view of one node: a cookie jar and the node's address. It answers `get` and
    `post` as the Flask test client does (no redirect followed), so the login helpers drive it."""

    def __init__(self, url, headers=None):
        self.url = url
        self.http = requests.Session()
        self.http.headers.update(headers or {})

    def get(self, path):
        return self.http.get(self.url + path, allow_redirects=False, timeout=30)

    def post(self, path, data=None, files=None):
        return self.http.post(
            self.url + path, data=data, files=files, allow_redirects=False, timeout=60
        )

    def form(self, page_path, post_path=None, **data):
        """Post the form of `page_path` (to `post_path`, default the same) with its CSRF token."""
        page = self.get(page_path)
        assert page.status_code == 200, (page_path, page.status_code, page.text[:500])
        data["csrf_token"] = csrf_from(page.text)
        return self.post(post_path or page_path, data=data)


class Processes:
    """The subprocesses of a stack, each logging to `<folder>/<name>.log`."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.running = []

    def start(self, name, arguments, env):
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115  (closed in stop)
        # A group of its own: what is left of it (a gunicorn worker stuck in a request) is
        # killed with it.
        process = subprocess.Popen(
            arguments,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append((name, process, log))
        return process

    def node(self, name, port, env, app="run:create_app()"):
        """Start a gunicorn app node on `port`; returns its address (not waited for)."""
        self.start(
            name,
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
            {**env, "PORT": str(port)},
        )
        return f"http://127.0.0.1:{port}"

    def worker(self, name, env, *options):
        """Start a `flask worker` process (with its command-line `options`)."""
        return self.start(
            name, [sys.executable, "-m", "flask", "--app", "run", "worker", *options], env
        )

    def logs(self):
        return "\n".join(
            f"--- {name} ---\n{(self.folder / f'{name}.log').read_text(errors='replace')[-4000:]}"
            for name, _process, _log in self.running
        )

    def stop(self):
        for _name, process, _log in self.running:
            process.terminate()
        for _name, process, log in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with contextlib.suppress(ProcessLookupError):  # unless the whole group has ended
                os.killpg(process.pid, signal.SIGKILL)
            log.close()
        self.running = []


def base_environment():
    """This process's environment less the settings each stack process is given."""
    return {key: value for key, value in os.environ.items() if not key.startswith(OWN_SETTINGS)}


def migrate(env):
    """Build the schema of the stack's database with the real migrations."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "migrate"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def new_database(url, suffix):
    """The URL of a new, empty PostgreSQL database `<name of url>_<suffix>` (dropped first)."""
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return parts._replace(path=f"/{name}").geturl()


def forget_queue(redis_url, queue):
    """Empty the job queue `queue` and its rate-limit counts from Redis."""
    RedisHuey(queue, url=redis_url).flush()
    connection = redis.Redis.from_url(redis_url)
    for key in connection.scan_iter(f"*{queue}*"):
        connection.delete(key)


def wait_until(check, what, processes, timeout=WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout}s\n{processes.logs()}")


def healthy(url):
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or its workers still starting
        return False
