"""Who holds an outbox claim, and whether that worker process still lives.

A worker claims a message before sending it (`OutboxMessage.claimed_until`, a lease), so two
workers never send the same row at once. The claim also names its worker (`claimed_by`): the
machine's boot, the process-id namespace, the pid and the process's start time. A worker that
was killed (`kill -9`, out of memory, a power cut of its container) leaves its claims behind;
any worker that can see the claimer's processes — the same boot and pid namespace — finds the
pid gone, or reused by a process that started at another time, and releases those claims at
once instead of waiting for the lease. A claimer that cannot be seen from here (another machine
or container) keeps its claim until the lease ends, which is then the only bound.
"""

import os
import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@cache
def _scope():
    """What two processes must share for one to look the other's pid up: the boot of the
    machine and the pid namespace (Linux); the host name alone elsewhere."""
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = os.readlink(PROC / "self/ns/pid").removeprefix("pid:")
    except OSError:
        return socket.gethostname()[:40]
    return f"{socket.gethostname()[:40]}/{boot}/{namespace}"


GONE = "gone"


def _started(pid):
    """The process's start time (clock ticks since boot), GONE when it has ended (a zombie
    has too), or None where there is no /proc to tell."""
    if not (PROC / "self/stat").exists():
        return None
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return GONE
    except OSError:
        return None
    state, *fields = stat.rpartition(")")[2].split()  # the name in () may hold spaces
    return GONE if state in ("Z", "X") else fields[18]


def worker_id(pid=None):
    """This process as a claimer: `<scope> <pid> <start time>`."""
    pid = pid or os.getpid()
    return f"{_scope()} {pid} {_started(pid) or '?'}"


def is_dead(claimer):
    """True when `claimer` is a process of this scope that has ended (its pid gone, or now
    another process's); False when it lives or cannot be looked at from here."""
    try:
        scope, pid, started = claimer.rsplit(" ", 2)
        pid = int(pid)
    except (AttributeError, ValueError):
        return False
    if scope != _scope():
        return False
    now = _started(pid)
    if now == GONE:
        return True
    if now is not None and started != "?":
        return now != started
    try:
        os.kill(pid, 0)  # no /proc: only whether some process has this pid
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
