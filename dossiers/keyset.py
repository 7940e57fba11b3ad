"""Keyset (cursor) paging of the staff dossier list: a page is "the N rows after (or before)
this row" in the order of its sort key and the dossier id, never an OFFSET, so that page 500
costs what page one costs.

The cursor names the last row of a page (or the first, to go back) with its sort key and id,
the sort it belongs to and the page's number, and is signed with the app's secret key: a
cursor that was changed, or that belongs to another sort, is refused (`BadCursor`) and the list
starts again at its first page.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from peewee import DateTimeField, Tuple

from models import Dossier

SALT = "dossier-list-cursor"


class BadCursor(ValueError):
    """A cursor that was not made by this list (changed, cut, or from another version)."""


class OtherList(ValueError):
    """One of ours, made for another sort, search or filter of the list."""


@dataclass(frozen=True)
class Sort:
    """A sort of the list: the key's expression, whether it is a column of the dossier itself
    (compared as a row value, on an index of (key, id)), and whether it may be NULL (a LEFT
    JOIN: unassigned dossiers), NULLs counting as the largest value on every database."""

    name: str
    key: object
    own: bool = True
    nullable: bool = False


@dataclass(frozen=True)
class Cursor:
    sort: str
    desc: bool
    key: object
    id: int
    page: int  # the number of the page it leads to, counted from 0
    backwards: bool = False  # "the rows before": the previous page
    context: str = ""  # a digest of the search and filters of the list it was made for

    def encode(self):
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        data = [
            self.sort,
            int(self.desc),
            key,
            self.id,
            self.page,
            int(self.backwards),
            self.context,
        ]
        return serializer().dumps(data)


def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def decode(token, sort, desc, context=""):
    """The cursor in `token` for the list sorted by `sort` (descending when `desc`) showing
    `context`; raises OtherList for a cursor of another sort or list, BadCursor for anything
    that is not a cursor of ours."""
    try:
        name, is_desc, key, row_id, page_number, backwards, made_for = serializer().loads(token)
        if key is not None:
            key = parse_key(sort.key, key)
        cursor = Cursor(
            str(name), bool(is_desc), key, int(row_id), int(page_number), bool(backwards), made_for
        )
    except (BadData, TypeError, ValueError) as error:
        raise BadCursor(token) from error
    if (cursor.sort, cursor.desc, cursor.context) != (sort.name, bool(desc), context):
        raise OtherList(token)
    return cursor


def parse_key(field, value):
    if isinstance(field, DateTimeField):
        return datetime.fromisoformat(value)
    if not isinstance(value, str | int):
        raise BadCursor(value)
    return value


def after(sort, desc, key, row_id):
    """The rows that come after (key, row_id) in the order (key, id), descending when `desc`."""
    k, i = sort.key, Dossier.id
    if key is None:  # among the NULLs: largest, last ascending and first descending
        if desc:
            return (k.is_null() & (i < row_id)) | k.is_null(False)
        return k.is_null() & (i > row_id)
    if sort.own:
        beyond = Tuple(k, i) < Tuple(key, row_id) if desc else Tuple(k, i) > Tuple(key, row_id)
    elif desc:  # the bound alone first: an index condition on the joined table's key
        beyond = (k <= key) & ((k < key) | (i < row_id))
    else:
        beyond = (k >= key) & ((k > key) | (i > row_id))
    if not sort.nullable:
        return beyond
    return (k.is_null(False) & beyond) if desc else (beyond | k.is_null())


def order(sort, desc):
    if desc:
        return [
            sort.key.desc(nulls="FIRST") if sort.nullable else sort.key.desc(),
            Dossier.id.desc(),
        ]
    return [sort.key.asc(nulls="LAST") if sort.nullable else sort.key.asc(), Dossier.id.asc()]


@dataclass
class Page:
    rows: list
    number: int
    next: Cursor | None
    previous: Cursor | None


def page(query, sort, desc, size, cursor=None, key_of=None, context="", make=None):
    """One page of `query` (filtered, not ordered) in the order of `sort`: the `size` rows
    after the cursor, or before it for a backwards cursor; one query of size + 1 rows (the one
    more says whether there is a page beyond). `make(row)` turns what the query reads into the
    page's rows (a tuple into an object, say); `key_of(row)` reads a row's sort key."""
    backwards = cursor is not None and cursor.backwards
    reading_desc = desc != backwards
    if cursor is not None:
        query = query.where(after(sort, reading_desc, cursor.key, cursor.id))
    rows = list(query.order_by(*order(sort, reading_desc)).limit(size + 1))
    if make is not None:
        rows = [make(row) for row in rows]
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if backwards:  # from a later page: the first page once nothing comes before
        number, has_next, has_previous = (cursor.page if more else 0), True, more
    else:
        number, has_next = (cursor.page if cursor is not None else 0), more
        has_previous = number > 0

    def at(row, page_number, back):
        return Cursor(sort.name, desc, key_of(row), row.id, page_number, back, context)

    return Page(
        rows=rows,
        number=number,
        next=at(rows[-1], number + 1, False) if rows and has_next else None,
        previous=at(rows[0], number - 1, True) if rows and has_previous else None,
    )
