"""gunicorn settings of an app node: `gunicorn -c gunicorn.conf.py 'run:create_app()'`.

Every value comes from the environment (README, Production). Each worker builds its own app and
opens its own database connection: `preload_app` stays off, so nothing opened before the fork
(a PostgreSQL socket, a Redis pool) is shared by two processes.
"""

import multiprocessing
import os


def _int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


# Loopback behind the node's reverse proxy; GUNICORN_BIND for another address (0.0.0.0:8000).
bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{_int('PORT', 8000)}"
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
# Threads per worker: a request waiting on the database, Redis or S3 does not hold the others.
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
preload_app = False
# An annex upload (20 MB, then its PDF check, at most PDF_CHECK_TOTAL_SECONDS) fits in this.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after so many requests (with jitter, not all at once).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The reverse proxies whose X-Forwarded-* gunicorn itself believes (the app's own trust is
# PROXY_FIX_HOPS); default: none but loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or "-"
errorlog = os.environ.get("GUNICORN_ERROR_LOG") or "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# The path without its query string (%(U)s, never %(r)s or %(q)s): the FAS callback carries the
# login's code and state there. No referrer either, it may carry a query string too.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "guichet"
