"""Queries whose SQL is written once (`database.Prepared`): the same rows and the same SQL as
the query they stand for, whatever the values; and SQLite connections kept from one request to
the next, with their settings."""

import pytest
from playhouse.pool import PooledSqliteDatabase

import database
import models
from helpers import login_person, make_company, make_member
from models import Company, Membership, Role
from portal.access import MEMBERSHIP  # the portal's own prepared query

BY_NAME = database.Prepared(
    lambda name: Company.select().where((Company.name == name) | (Company.legal_form == name))
)


def plain(person_id, company_id):
    return (
        Membership.select(Membership, Company)
        .join(Company)
        .where(Membership.person == person_id, Membership.company == company_id)
        .limit(1)
    )


@pytest.fixture
def executed(monkeypatch):
    """The (sql, params) of every statement run."""
    seen = []
    inner = models.db.obj.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        seen.append((sql, list(params or [])))
        return inner(sql, params, *args, **kwargs)

    monkeypatch.setattr(models.db.obj, "execute_sql", spy)
    return seen


def test_the_rows_and_the_sql_are_those_of_the_query(ctx, executed):
    alpha, beta = make_company(name="Alpha"), make_company(name="Bêta")
    person = make_member(alpha, Role.CONSULT)
    make_member(beta, Role.SIGN, person=person)
    other = make_member(beta)
    for person_id, company in ((person.id, alpha), (person.id, beta), (other.id, beta)):
        expected = plain(person_id, company.id).get()
        executed.clear()
        [row] = MEMBERSHIP(person_id, company.id)
        assert executed == [plain(person_id, company.id).sql()]
        assert (row.id, row.person_id, row.roles) == (expected.id, person_id, expected.roles)
        assert row.company.name == company.name  # the joined row, as the query gives it
    assert MEMBERSHIP(other.id, alpha.id) == []


def test_a_value_used_twice_and_strings(ctx):
    make_company(name="Alpha", legal_form="014")
    make_company(name="014", legal_form="015")
    assert sorted(c.name for c in BY_NAME("014")) == ["014", "Alpha"]
    assert BY_NAME("Bêta ' OR 1=1 --") == []  # a parameter, never SQL


def test_values_it_cannot_vouch_for_are_refused(ctx):
    with pytest.raises(TypeError):
        MEMBERSHIP(1, None)
    with pytest.raises(TypeError):
        MEMBERSHIP(True, 1)  # peewee would write a boolean otherwise than an int
    ignored = database.Prepared(lambda name: Company.select().where(Company.name == "x"))
    with pytest.raises(ValueError, match="not parameters"):
        ignored("y")


def test_sqlite_connections_are_kept_for_the_next_request_with_their_settings(app, client):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL's pool has its own tests (test_database_pool.py)")
    assert isinstance(models.db.obj, PooledSqliteDatabase)
    company = make_company()
    login_person(client, company=company, person=make_member(company))

    def connection():
        with app.app_context():
            conn = models.db.connection()
            settings = [
                models.db.execute_sql(f"PRAGMA {name}").fetchone()[0]
                for name in ("foreign_keys", "busy_timeout", "journal_mode")
            ]
            return id(conn), settings

    first, settings = connection()
    assert settings == [1, 10_000, "wal"]
    assert client.get("/").status_code == 200
    assert connection() == (first, settings), "the request gave its connection back"


def test_without_a_pool_sqlite_connects_anew(tmp_path):
    db = database.open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert not isinstance(db, PooledSqliteDatabase)
