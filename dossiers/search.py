"""The staff list's search, built for a million dossiers: one condition on the dossier query,
each part on an index.

- a reference (`ENR-2026-0001`, or its start): a prefix of `Dossier.reference`, on a b-tree
  (GLOB on SQLite, LIKE on a `text_pattern_ops` index on PostgreSQL);
- an enterprise number, with or without dots, spaces or BE: the company's number, equal (all
  ten digits) or its start;
- words: the dossiers of the companies whose name, or of the applicants whose name, contains
  every word, whatever its case and accents (the folded `search_name` columns), on trigram
  indexes: `pg_trgm` GIN on PostgreSQL, FTS5 `trigram` tables on SQLite (migration 014).

The companies and persons found are handed to the dossier queries as an array computed once
(`= ANY(ARRAY(...))` on PostgreSQL, so that their ids are looked up on the dossier's indexes),
an IN (subquery) on SQLite; the list reads the union of the dossiers each way finds.
"""

import re

from peewee import SQL, Expression, NodeList, SqliteDatabase, fn

from models import Company, Dossier, Person, db, fold

ENTERPRISE_LIKE = re.compile(r"^(BE)?\s*[01][\d.\s]{3,12}$", re.IGNORECASE)
REFERENCE_LIKE = re.compile(r"^[A-Z]{2,8}-[A-Z0-9-]*$")
LIKE_SPECIAL = re.compile(r"[%_\\*?\[\]]")


def on_sqlite():
    return isinstance(db.obj, SqliteDatabase)


def starts_with(field, prefix):
    """`field` starts with `prefix` (made of letters, digits and dashes only), on its index."""
    if on_sqlite():
        return Expression(field, "GLOB", f"{prefix}*")
    return Expression(field, "LIKE", f"{prefix}%")


def words_of(search):
    """The folded words of a search, without the characters LIKE and GLOB read as wildcards."""
    return [w for w in LIKE_SPECIAL.sub(" ", fold(search)).split() if w]


def name_contains(model, words):
    """The ids of `model` (Company or Person) whose folded name contains every word."""
    if on_sqlite():
        table = f"{model._meta.table_name}_search"
        where = " AND ".join(["search_name LIKE ?"] * len(words))
        return SQL(
            f"(SELECT rowid FROM {table} WHERE {where})",  # noqa: S608 - the names are ours
            [f"%{w}%" for w in words],
        )
    query = model.select(model.id)
    for word in words:
        query = query.where(Expression(model.search_name, "LIKE", f"%{word}%"))
    return query


def among(field, ids):
    """`field` is one of the ids the subquery finds."""
    if on_sqlite():
        return field.in_(ids)
    return field == fn.ANY(NodeList((SQL("ARRAY"), ids)))


def names(words):
    """The dossiers of a company, or submitted by a person, whose name has every word."""
    return [
        among(Dossier.company, name_contains(Company, words)),
        among(Dossier.submitted_by, name_contains(Person, words)),
    ]


def condition(search):
    """The condition of the dossiers that `search` finds; None when it has nothing to look for.

    Each way of finding a dossier is a query of dossier ids on its own index, and the list
    reads the union of them: an OR of the three in the list's query would let the database walk
    the list's order and test every dossier, which for a rare name is the whole table."""
    text = search.strip()
    ways = []
    if ENTERPRISE_LIKE.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) == 10:
            number = Company.enterprise_number == digits
        else:
            number = starts_with(Company.enterprise_number, digits)
            ways += names([digits])
        ways.append(among(Dossier.company, Company.select(Company.id).where(number)))
    else:
        words = words_of(text)
        if not words:
            return None
        ways += names(words)
        if REFERENCE_LIKE.match(text.upper()):
            ways.append(starts_with(Dossier.reference, text.upper()))
    found = None
    for way in ways:
        ids = Dossier.select(Dossier.id).where(way, Dossier.submitted_at.is_null(False))
        found = ids if found is None else found + ids  # UNION ALL
    return Dossier.id.in_(found)
