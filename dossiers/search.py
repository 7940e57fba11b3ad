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
from dataclasses import dataclass

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


# Up to this many dossiers found, the list reads them by id and sorts them; beyond, it walks its
# own order and keeps those that match, which then come often enough to fill a page soon.
CAP = 2000


def among(field, ids):
    """`field` is one of the ids the subquery finds, looked up on the index of `field`."""
    if on_sqlite():
        return field.in_(ids)
    return field == fn.ANY(NodeList((SQL("ARRAY"), ids)))


@dataclass(frozen=True)
class Way:
    """One way of finding dossiers: by ids looked up on an index (`lookup`), or as a test of
    each row of a walk in the list's order (`test`)."""

    lookup: object
    test: object

    @classmethod
    def of(cls, field, ids):
        if on_sqlite():  # "+field": not on the field's index, so that SQLite walks the list
            return cls(among(field, ids), Expression(NodeList((SQL("+"), field), ""), "IN", ids))
        return cls(among(field, ids), field.in_(ids))


@dataclass(frozen=True)
class Found:
    """What a search finds, two ways: `narrow` (the ids found by every way, at most CAP + 1 of
    them) with `hits`, the number of those ids, to be read with the page; `wide` when there
    were more than CAP."""

    narrow: object
    hits: object
    wide: object


def company_named(text):
    """What the filter "Entreprise" finds (a Found): the dossiers of the companies whose folded
    name contains `text` (already folded); None when there is nothing to look for."""
    cleaned = LIKE_SPECIAL.sub(" ", text).strip()
    if not cleaned:
        return None
    return found_by([Way.of(Dossier.company, name_contains(Company, [cleaned]))])


def names(words):
    """The dossiers of a company, or submitted by a person, whose name has every word."""
    return [
        Way.of(Dossier.company, name_contains(Company, words)),
        Way.of(Dossier.submitted_by, name_contains(Person, words)),
    ]


def condition(search):
    """What `search` finds (a Found); None when it has nothing to look for.

    Each way of finding a dossier is a query of dossier ids on its own index, and the list
    reads the union of them: an OR of the ways in the list's query would let the database walk
    the list's order and test every dossier, which for a rare name is the whole table. A search
    that finds more than CAP dossiers (a word of every company's name) is read by that walk."""
    text = search.strip()
    ways = []
    if ENTERPRISE_LIKE.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) == 10:
            number = Company.enterprise_number == digits
        else:
            number = starts_with(Company.enterprise_number, digits)
            ways += names([digits])
        ways.append(Way.of(Dossier.company, Company.select(Company.id).where(number)))
    else:
        words = words_of(text)
        if not words:
            return None
        ways += names(words)
        if REFERENCE_LIKE.match(text.upper()):
            prefix = starts_with(Dossier.reference, text.upper())
            ways.append(Way(prefix, prefix))
    return found_by(ways)


def found_by(ways):
    """The Found of dossiers that any of `ways` finds."""
    union = wide = None
    for way in ways:
        ids = Dossier.select(Dossier.id).where(way.lookup, Dossier.submitted_at.is_null(False))
        union = ids if union is None else union + ids  # UNION ALL
        wide = way.test if wide is None else wide | way.test
    capped = union.limit(CAP + 1)
    hits = Dossier.select(fn.COUNT(SQL("*"))).from_(capped.alias("found"))
    return Found(Dossier.id.in_(capped), hits, wide)
