"""The job queue (huey): SQLite by default, Redis when REDIS_URL is set.

Tasks are registered on the app's own huey instance by `init_app`, so nothing is built at import
time; each task runs inside an application context with its own database connection.
"""

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import click
from flask import current_app, g, has_app_context
from flask.cli import ScriptInfo
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import TaskLockedException

import database
import models
import notifications
from dossiers import (
    deadlines,
    documents,
    events,
    exports,
    following,
    opinions,
    orphans,
    reminders,
    retention,
    scanning,
)
from webhooks import delivery as webhooks

log = logging.getLogger(__name__)


def make_huey(config):
    name = config.get("HUEY_NAME") or "guichet"
    if config.get("HUEY_IMMEDIATE"):
        return MemoryHuey(name, immediate=True)
    if config.get("REDIS_URL"):
        return RedisHuey(name, url=config["REDIS_URL"])
    return SqliteHuey(name, filename=config["HUEY_SQLITE_PATH"])


class Jobs:
    """The app's huey instance and its tasks."""

    def __init__(self, app):
        self.app = app
        self.huey = make_huey(app.config)
        self.deliver_outbox = self.huey.task(name="deliver_outbox")(self.in_app(deliver_outbox))
        self.huey.periodic_task(crontab(minute="*"), name="deliver_outbox_periodic")(
            self.in_app(deliver_outbox)
        )
        self.produce_receipt = self.huey.task(name="produce_receipt", retries=5, retry_delay=30)(
            self.in_app(produce_receipt)
        )
        self.produce_letter = self.huey.task(name="produce_letter", retries=5, retry_delay=30)(
            self.in_app(produce_letter)
        )
        self.huey.periodic_task(crontab(minute="0", hour="7"), name="report_reminders")(
            self.in_app(send_report_reminders)
        )
        self.huey.periodic_task(crontab(minute="30", hour="6"), name="following_digests")(
            self.in_app(send_following_digests)
        )
        self.huey.periodic_task(crontab(minute="10", hour="7"), name="deadline_reminders")(
            self.in_app(send_deadline_reminders)
        )
        self.huey.periodic_task(crontab(minute="20", hour="7"), name="opinion_reminders")(
            self.in_app(send_opinion_reminders)
        )
        self.huey.periodic_task(crontab(minute="0", hour="2"), name="retention")(
            self.in_app(apply_retention)
        )
        self.huey.periodic_task(crontab(minute="*"), name="rescan_annexes")(
            self.in_app(rescan_annexes)
        )
        self.huey.periodic_task(crontab(minute="17"), name="remove_orphans")(
            self.in_app(remove_orphans)
        )
        self.make_export = self.huey.task(name="make_export")(self.in_app(make_export))
        self.huey.periodic_task(crontab(minute="41"), name="expire_exports")(
            self.in_app(expire_exports)
        )
        self.huey.periodic_task(crontab(minute="*"), name="sequence_events")(
            self.in_app(events.sequence_pending)
        )
        self.deliver_webhooks = self.huey.task(name="deliver_webhooks")(
            self.in_app(self.deliver_webhooks_once)
        )
        self.huey.periodic_task(crontab(minute="*"), name="deliver_webhooks_periodic")(
            self.in_app(self.deliver_webhooks_once)
        )
        self.huey.periodic_task(crontab(minute="23", hour="4"), name="purge_webhook_log")(
            self.in_app(webhooks.purge)
        )
        self.huey.periodic_task(crontab(minute="30", hour="3"), name="refresh_statistics")(
            self.in_app(database.refresh_statistics)
        )

    def deliver_webhooks_once(self):
        """One webhook round at a time (a huey lock, across worker processes): a round woken
        while another runs leaves it to that one, which goes on while work is due."""
        try:
            with self.huey.lock_task("webhooks"):
                made = delivered = 0
                while True:
                    round_made, round_delivered = webhooks.run()
                    made, delivered = made + round_made, delivered + round_delivered
                    if not round_delivered:
                        break
        except TaskLockedException:
            return None
        if made or delivered:
            log.info("Webhooks: %s delivery(ies) made, %s delivered", made, delivered)
        return made, delivered

    def resume(self):
        """A starting worker sends the outbox at once, not at the next minute: what a killed
        worker had claimed (released when it is seen dead) or had taken from the queue is
        delivered now."""
        self.deliver_outbox()

    def in_app(self, fn):
        app = self.app

        def run(*args, **kwargs):
            with app.app_context():
                models.db.connect(reuse_if_open=True)
                try:
                    return fn(*args, **kwargs)
                finally:
                    models.db.close()

        run.__name__ = fn.__name__
        return run

    def consumer(self, workers=2, periodic=True):
        """A consumer of the queue; `periodic=False` leaves the schedule (outbox every minute,
        nightly retention, ...) to other workers: each worker that keeps it enqueues every
        periodic task, which the tasks bear (claims, unique rows) but need not do."""
        self.resume()
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic)

    def start_in_process(self, workers=2):
        """Run a consumer in this process's threads (embedded default), leaving signals alone."""
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        self.resume()
        consumer = self.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=True, max_delay=1.0
        )
        consumer.start()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        return consumer


def supervise(commands):
    """Run one consumer process per command until they stop; the exit status to leave with.

    Each process is a `flask worker` of its own (its own app, database connection, seal key and
    fonts, `--workers` threads), started fresh rather than forked from this one: a fork would
    share this process's connections, and huey's own process workers run one task at a time
    each. SIGTERM, SIGINT and SIGHUP are passed on to every process (huey's meanings: stop now,
    stop after the current tasks, restart); when one stops of itself, the others are stopped and
    this one exits with an error, for the service manager to restart the lot. The processes
    are in a session of their own (a terminal's Ctrl-C reaches them once, through here) and die
    with this one if it is killed (Linux)."""
    children = [
        subprocess.Popen(  # noqa: S603  our own command line: this interpreter's flask
            command, start_new_session=True, preexec_fn=_die_with_parent
        )
        for command in commands
    ]
    running = {child.pid: child for child in children}
    stopping = []

    def pass_on(signum, frame):
        if signum != signal.SIGHUP:
            stopping.append(signum)
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, pass_on)
    status = 0
    while running:
        try:
            pid, wait_status = os.wait()  # not Popen.wait: one wait for whichever stops first
        except ChildProcessError:
            break
        child = running.pop(pid, None)
        if child is None:
            continue
        child.returncode = os.waitstatus_to_exitcode(wait_status)
        if not stopping:  # it stopped of itself
            log.error("Worker process %s stopped (%s): stopping the others", pid, child.returncode)
            status = 1
            pass_on(signal.SIGTERM, None)
        elif child.returncode > 0:
            status = status or child.returncode
    return status


def _die_with_parent():
    """In a worker process just forked: receive SIGTERM when the supervisor dies (Linux's
    PR_SET_PDEATHSIG; elsewhere a supervisor killed with SIGKILL leaves its workers running)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def deliver_outbox():
    sent = notifications.deliver_due()
    if sent:
        log.info("Outbox: %s email(s) sent", sent)
    return sent


def produce_receipt(dossier_id):
    """The sealed receipt of a submitted dossier, stored once; then the Soumission email goes."""
    documents.produce_receipt(dossier_id)
    wake_outbox()


def produce_letter(dossier_id):
    """The sealed decision letter of a closed dossier; then the Clôture email goes."""
    documents.produce_letter(dossier_id)
    wake_outbox()


def make_export(export_id):
    """The file of a background export, written in batches with its progress."""
    exports.make_export(export_id)


def expire_exports():
    """Erase the export files past their days, and fail those whose worker died."""
    expired, stale = exports.expire()
    if expired or stale:
        log.info("Exports: %s expired, %s interrupted", expired, stale)
    return expired, stale


def rescan_annexes():
    """Scan the annexes left in quarantine (the scanner was down or answered an error)."""
    return scanning.rescan()


def remove_orphans():
    """Remove the stored files no row references, past their grace period."""
    return orphans.remove_orphans()


def send_report_reminders():
    return reminders.send_due()


def send_following_digests():
    """The daily digest of the followed dossiers, to the staff who chose it."""
    return following.send_digests()


def send_deadline_reminders():
    return deadlines.send_reminders()


def send_opinion_reminders():
    """The reminder to each expert whose opinion is due within two days."""
    return opinions.send_reminders()


def apply_retention():
    """Warn of stale drafts, delete those warned long enough ago, anonymise old closed dossiers."""
    done = retention.run()
    counts = {step: len(dossiers) for step, dossiers in done.items()}
    if any(counts.values()):
        log.info("Retention: %s", counts)
    return counts


def note_queued(sender, **_message):
    """An email was written to the outbox: once its transaction commits, wake the worker when
    this context ends (a rolled-back write asks for nothing, even when an error page is
    answered and the context ends without an error)."""
    if has_app_context():
        models.db.after_commit(lambda: g.setdefault("outbox_queued", True))


def note_document(sender, kind, dossier_id):
    """A change calls for a document: once committed, ask the worker for it when this context
    ends."""
    if has_app_context():
        models.db.after_commit(
            lambda: g.setdefault("documents_wanted", []).append((kind, dossier_id))
        )


def note_export(sender, export_id):
    """A staff member asked for an export: once committed, enqueue it when this context ends."""
    if has_app_context():
        models.db.after_commit(lambda: g.setdefault("exports_wanted", []).append(export_id))


def note_event(sender, event_id):
    """An event was written: once committed, wake the webhooks when this context ends."""
    if has_app_context():
        models.db.after_commit(lambda: g.setdefault("webhooks_wanted", True))


def after_work(error=None):
    """The one place that hands the worker what a request or a task called for, at the end of
    its application context (so after its transactions have committed): the documents to
    make, then the emails to send. Nothing when the work failed (it was rolled back)."""
    wanted, queued = g.pop("documents_wanted", []), g.pop("outbox_queued", False)
    exports_wanted = g.pop("exports_wanted", [])
    webhooks_wanted = g.pop("webhooks_wanted", False)
    if error is not None:
        return
    jobs = current_app.extensions["jobs"]
    for export_id in exports_wanted:
        try:
            jobs.make_export(export_id)
        except Exception:  # left pending: marked failed after EXPORT_STALE_HOURS
            log.exception("Could not enqueue export %s", export_id)
    for kind, dossier_id in dict.fromkeys(wanted):
        task = jobs.produce_receipt if kind == models.Document.RECEIPT else jobs.produce_letter
        try:
            task(dossier_id)
        except Exception:  # the email waits for its document: an operator retries the task
            log.exception("Could not enqueue the %s of dossier %s", kind, dossier_id)
    if queued:
        wake_outbox()
    if webhooks_wanted:
        try:
            jobs.deliver_webhooks()
        except Exception:  # the periodic round hands the event over within a minute
            log.exception("Could not enqueue the webhooks' round")


def wake_outbox():
    """Ask a worker to send the outbox now (call after the transaction has committed)."""
    try:
        current_app.extensions["jobs"].deliver_outbox()
    except Exception:  # the periodic task will send it within a minute anyway
        log.exception("Could not enqueue the outbox delivery")


def init_app(app):
    jobs = Jobs(app)
    app.extensions["jobs"] = jobs
    models.outbox_queued.connect(note_queued)
    models.document_wanted.connect(note_document)
    models.export_wanted.connect(note_export)
    models.event_recorded.connect(note_event)
    app.teardown_appcontext(after_work)

    @app.cli.command("worker")
    @click.option(
        "--processes",
        default=1,
        show_default=True,
        type=click.IntRange(min=1),
        help="Consumer processes (receipts and letters are CPU work: one per core).",
    )
    @click.option("--workers", default=2, show_default=True, help="Worker threads per process.")
    @click.option(
        "--periodic/--no-periodic",
        default=True,
        show_default=True,
        help="Also enqueue the periodic tasks (keep it on one worker process of the cluster; "
        "with --processes, the first process does).",
    )
    @click.pass_context
    def worker_command(context, processes, workers, periodic):
        """Run the job consumer (outbox delivery and periodic tasks)."""
        if processes == 1:
            jobs.consumer(workers, periodic).run()
            return
        # The console script when there is one: huey restarts a consumer on SIGHUP by running
        # its command line again, which `python -m flask` does not survive.
        script = Path(sys.executable).with_name("flask")
        command = [sys.executable, *([str(script)] if script.exists() else ["-m", "flask"])]
        app_path = context.find_object(ScriptInfo).app_import_path
        command += [*(["--app", app_path] if app_path else []), "worker", "--processes", "1"]
        command += ["--workers", str(workers)]
        flags = ["--periodic" if periodic and n == 0 else "--no-periodic" for n in range(processes)]
        sys.exit(supervise([[*command, flag] for flag in flags]))

    @app.cli.command("retention")
    @click.option("--dry-run", is_flag=True, help="List what is due without changing anything.")
    def retention_command(dry_run):
        """Apply the procedures' retention now (the worker does it every night at 02:00)."""
        done = retention.due() if dry_run else retention.run()
        verbs = {"warned": "warn of deletion", "deleted": "delete", "anonymised": "anonymise"}
        for step, dossiers in done.items():
            label = f"would {verbs[step]}" if dry_run else step
            click.echo(f"{label}: {len(dossiers)}")
            for dossier in dossiers:
                click.echo(f"  {dossier} ({dossier.definition.code}, company {dossier.company_id})")

    @app.cli.command("cleanup-orphans")
    @click.option(
        "--grace-hours",
        type=float,
        default=None,
        help="Keep files younger than this (default: ORPHAN_GRACE_HOURS).",
    )
    def cleanup_orphans_command(grace_hours):
        """Remove the stored files that no annex or document refers to."""
        result = orphans.remove_orphans(grace_hours)
        click.echo(
            f"{result.orphans} orphan file(s) and {result.temporaries} temporary file(s) "
            f"removed; {result.kept_young} recent file(s) without a row kept."
        )

    @app.cli.command("scan-annexes")
    def scan_annexes_command():
        """Scan the annexes still in quarantine now."""
        done = scanning.rescan()
        left = models.Annex.awaiting_scan().count()
        click.echo(f"{done} annex(es) out of quarantine; {left} still waiting for the scanner.")

    return jobs
