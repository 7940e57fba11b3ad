"""PostgreSQL connections from a pool: kept open from one request or task to the next, a
connection the server dropped replaced without an error, none kept past its stale age, and a
pool all in use answered with the 503 page once the wait is over."""

import threading
import time

import psycopg2
import pytest
from playhouse.pool import PooledPostgresqlDatabase

import database
import models
from conftest import BASE_URL, make_config
from run import create_app


@pytest.fixture
def postgres_url(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool is PostgreSQL's (SQLite opens a file)")
    return database_url


@pytest.fixture(autouse=True)
def closed_after():
    yield
    database.close_all()


def pooled_app(tmp_path, url, **settings):
    return create_app(make_config(tmp_path, url, PUBLIC_BASE_URL=BASE_URL, **settings))


def backend_pid(app):
    """The server process of the connection one application context (a request, a task) gets."""
    with app.app_context():
        return models.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def terminate(url, pid):
    admin = psycopg2.connect(url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        admin.close()


def test_the_settings_make_the_pool(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url, DATABASE_POOL_SIZE=4, DATABASE_POOL_STALE_SECONDS=120)
    pool = models.db.obj
    assert isinstance(pool, PooledPostgresqlDatabase)
    assert (pool._max_connections, pool._stale_timeout, pool._wait_timeout) == (4, 120, 10)
    assert app.config["DATABASE_POOL_SIZE"] == 4


def test_requests_and_tasks_reuse_one_connection(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url)
    first = backend_pid(app)
    assert [backend_pid(app) for _ in range(5)] == [first] * 5
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert backend_pid(app) == first, "the request gave its connection back"


def test_without_a_pool_each_context_connects_anew(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url, DATABASE_POOL_SIZE=0)
    assert not isinstance(models.db.obj, PooledPostgresqlDatabase)
    assert backend_pid(app) != backend_pid(app)


def test_a_connection_the_server_dropped_is_replaced_without_an_error(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url)
    first = backend_pid(app)
    terminate(postgres_url, first)  # idle in the pool, as after a server restart
    assert app.test_client().get("/healthz").status_code == 200
    second = backend_pid(app)
    assert second != first
    assert backend_pid(app) == second


def test_a_connection_older_than_its_stale_age_is_closed(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url, DATABASE_POOL_STALE_SECONDS=1)
    first = backend_pid(app)
    time.sleep(1.2)
    assert backend_pid(app) != first


def test_a_pool_all_in_use_answers_503_after_the_wait(tmp_path, postgres_url):
    app = pooled_app(tmp_path, postgres_url, DATABASE_POOL_SIZE=1, DATABASE_POOL_WAIT_SECONDS=1)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with app.app_context():
            models.db.execute_sql("SELECT 1")
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert time.monotonic() - started >= 1
    finally:
        release.set()
        holder.join()
    assert app.test_client().get("/healthz").status_code == 200, "free again: served"
