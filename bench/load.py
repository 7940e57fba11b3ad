"""A bounded load of tasks run by client threads: as fast as they go, or started at a rate
(the end-to-end bench's submissions). A task is (client, item) and `client.submit(item)` its
work, whose result is kept with the item."""

import queue
import threading
import time


def drain(jobs, do):
    while True:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            return
        do(job)


def run_threads(count, target):
    errors = []

    def guarded():
        try:
            target()
        except BaseException as exc:  # reported by the caller, with the others
            errors.append(exc)

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def as_fast_as_possible(tasks, clients):
    """[(result of Client.submit)] of every task, run by `clients` threads; and seconds taken."""
    jobs, results = queue.Queue(), []
    for task in tasks:
        jobs.put(task)
    start = time.perf_counter()
    run_threads(
        clients,
        lambda: drain(jobs, lambda task: results.append((task[1], *task[0].submit(task[1])))),
    )
    return results, time.perf_counter() - start


def at_a_rate(tasks, clients, rate):
    """The tasks started at `rate` per second (when a client is free): (results, seconds,
    largest lag in seconds of a start behind its schedule)."""
    jobs, results, lags = queue.Queue(), [], []
    start = time.perf_counter()

    def feed():
        for n, task in enumerate(tasks):
            due = start + n / rate
            time.sleep(max(0, due - time.perf_counter()))
            jobs.put((due, task))
        for _ in range(clients):
            jobs.put(None)

    def serve():
        while (job := jobs.get()) is not None:
            due, (browser, dossier_id) = job
            lags.append(time.perf_counter() - due)
            results.append((dossier_id, *browser.submit(dossier_id)))

    feeder = threading.Thread(target=feed)
    feeder.start()
    run_threads(clients, serve)
    feeder.join()
    return results, time.perf_counter() - start, max(lags, default=0)
