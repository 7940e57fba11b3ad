"""The app under cProfile, for `bench/submissions.py --profile`: gunicorn serves
`profiled:create_app()` (bench/ on PYTHONPATH) instead of `run:create_app()`.

Each request of a dossier's pages is profiled, in CPU time of its thread, by that thread's
profiler; every few seconds a thread writes its profile to BENCH_PROFILE_DIR/<pid>-<thread>.prof
(a worker may be stopped without running its exit hooks), and the bench merges them."""

import cProfile
import os
import threading
import time
from pathlib import Path

import run

DUMP_EVERY = 2.0
PROFILED = "/dossiers/"  # the submission's requests, not the logins before them


def create_app():
    app = run.create_app()
    folder = Path(os.environ["BENCH_PROFILE_DIR"])
    local = threading.local()
    inner = app.wsgi_app

    def profiled(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(PROFILED):
            return inner(environ, start_response)
        if not hasattr(local, "profile"):
            local.profile, local.dumped = cProfile.Profile(time.thread_time), time.monotonic()
        local.profile.enable()
        try:
            return list(inner(environ, start_response))
        finally:
            local.profile.disable()
            if time.monotonic() - local.dumped > DUMP_EVERY:
                local.profile.dump_stats(folder / f"{os.getpid()}-{threading.get_ident()}.prof")
                local.dumped = time.monotonic()

    app.wsgi_app = profiled
    return app
