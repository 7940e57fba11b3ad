"""Exports of a back-office list (CSV, XLSX): what every one writes in a cell, and the files of
100,000 rows and more that the worker makes in the background.

The cell: a value that a spreadsheet will show, never run.
A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice or Google Sheets (OWASP "CSV injection"): a company name such as
`=HYPERLINK("https://evil.example", "Cliquez")` would become a live link in the agent's sheet.
Such a cell gets a leading apostrophe, the spreadsheets' own mark for "text, not a formula".

In the background: `request_export` keeps the list's search, filters and sort as the staff
member's page had them; the worker (`make_export`) rebuilds the list's own query from them
(through the `ExportSource` the list registered), reads it by primary key in batches of
EXPORT_BATCH_SIZE, writes each batch to a temporary file (csv, openpyxl's write-only mode) and
its progress to the row, then stores the file. Only its requester sees or downloads it; it is
erased after EXPORT_KEEP_DAYS (`expire`, hourly).
"""

import csv
import io
import logging
import tempfile
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

import storage
from dossiers import DossierNotFound, DossierRefused
from models import AuditEvent, Export, ExportStatus, db, export_wanted, utcnow

log = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN = (bool, int, float, Decimal, date)


def safe_cell(value):
    """The value for one exported cell: numbers and dates as they are; anything else as text
    (a company, an agent...), quoted when it could start a formula."""
    if value is None or isinstance(value, PLAIN):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# --- background exports of a list ---------------------------------------------------------

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ERROR_MAX = 500


class ExportSource:
    """What a list lends to its background export (the back-office's list view registers one
    by name with `register_source`): the staff roles that may export it (`allowed_roles`), its
    columns, its query rebuilt from the args read off the list's page, and each cell's value."""

    file_prefix = "export"

    def export_columns(self, args):
        """(name, label) of each column, in order, for the list as `args` has it."""
        raise NotImplementedError

    def export_query(self, args):
        """The list's query (its search, filters, joins) for the JSON-able `args`."""
        raise NotImplementedError

    def export_value(self, row, name):
        raise NotImplementedError

    def export_batch(self, rows):
        """Read what the cells of a batch need at once, before their `export_value`."""


def register_source(app, name, source):
    sources = app.extensions.setdefault("export_sources", {})
    if name in sources:
        raise ValueError(f"Export source {name!r} registered twice")
    sources[name] = source


def source_of(name):
    return current_app.extensions.get("export_sources", {})[name]


def request_export(actor, source_name, args, fmt):
    """Ask the worker for the file of a list (as the staff member's page shows it: `args`)."""
    source = source_of(source_name)
    staff = actor.staff
    if staff is None or staff.staff_role not in getattr(source, "allowed_roles", ()):
        raise DossierRefused(_("Cet export ne vous est pas ouvert."))
    if fmt not in FORMATS:
        raise DossierRefused(_("Format d'export inconnu : %(format)s.", format=fmt))
    with db.atomic():
        export = Export.create(
            staff=staff,
            source=source_name,
            format=fmt,
            language=str(get_locale() or "fr")[:2],
            query_args=args,
        )
        AuditEvent.record(
            "export.requested", actor, export, source=source_name, format=fmt, args=args
        )
        export_wanted.send(None, export_id=export.id)
    return export


def own_exports(staff, limit=50):
    """The staff member's exports, newest first."""
    return (
        Export.select()
        .where(Export.staff == staff)
        .order_by(Export.created_at.desc(), Export.id.desc())
        .limit(limit)
    )


def own_export(actor, export_id):
    """An export of the actor's own; `DossierNotFound` for anyone else's."""
    export = Export.get_or_none(Export.id == export_id)
    if export is None or actor.staff is None or export.staff_id != actor.staff.id:
        raise DossierNotFound(export_id)
    return export


def download(actor, export_id):
    """The file of a ready export of the actor's own, checked against its SHA-256, and the
    name to save it under; audited."""
    export = own_export(actor, export_id)
    if export.state != ExportStatus.READY or not export.storage_key:
        raise DossierNotFound(export_id)
    data = storage.read_verified(export.storage_key, export.sha256)
    AuditEvent.record("export.downloaded", actor, export, size=export.size)
    return export, data, file_name(export)


def file_name(export):
    prefix = getattr(source_of(export.source), "file_prefix", export.source)
    return f"{prefix}-{export.created_at:%Y-%m-%d-%H%M%S}.{export.format}"


def batches(query, size):
    """The rows of `query` by its primary key, `size` at a time (keyset: each batch is one
    query after the last key seen), so that no more than one batch is ever held."""
    key = query.model._meta.primary_key
    last = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = list(page.order_by(key).limit(size).iterator())
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        last = getattr(rows[-1], key.name)


def make_export(export_id):
    """The worker's part: write the file in batches, record the progress after each, store the
    file and mark the export ready (or failed, with the error)."""
    claimed = (
        Export.update(status=ExportStatus.RUNNING.value, rows_done=0, error=None)
        .where(
            Export.id == export_id,
            Export.status.in_([ExportStatus.PENDING.value, ExportStatus.RUNNING.value]),
        )
        .execute()
    )
    if not claimed:
        return None
    export = Export.get_by_id(export_id)
    stored = None
    try:
        source = source_of(export.source)
        with force_locale(export.language), tempfile.TemporaryFile() as out:
            query = source.export_query(export.query_args)
            export.progress(0, query.order_by().count())
            done = WRITERS[export.format](out, source, query, export)
            stored = storage.store_file(out)
        Export.update(
            status=ExportStatus.READY.value,
            storage_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            rows_done=done,
            rows_total=done,
            finished_at=utcnow(),
        ).where(Export.id == export_id).execute()
    except Exception as error:
        log.exception("Export %s failed", export_id)
        if stored is not None:
            storage.get_storage().delete(stored.key)
        fail(export_id, f"{type(error).__name__}: {error}")
        return None
    log.info("Export %s: %s row(s), %s bytes", export_id, done, stored.size)
    return Export.get_by_id(export_id)


def fail(export_id, message):
    Export.update(
        status=ExportStatus.FAILED.value, error=message[:ERROR_MAX], finished_at=utcnow()
    ).where(Export.id == export_id).execute()


def rows_of(source, query, export):
    """Each row's cells (neutralised by `safe_cell`), the progress written after each batch."""
    names = [name for name, _label in source.export_columns(export.query_args)]
    size = current_app.config["EXPORT_BATCH_SIZE"]
    done = 0
    for batch in batches(query, size):
        source.export_batch(batch)
        for row in batch:
            yield [safe_cell(source.export_value(row, name)) for name in names]
        done += len(batch)
        export.progress(done)


def header_of(source, export):
    return [str(label) for _name, label in source.export_columns(export.query_args)]


def write_csv(out, source, query, export):
    """UTF-8 with a byte-order mark, so that Excel reads the accents right."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(header_of(source, export))
    for cells in rows_of(source, query, export):
        writer.writerow(["" if cell is None else cell for cell in cells])
    text.flush()
    text.detach()
    return export.rows_done


def write_xlsx(out, source, query, export):
    """openpyxl's write-only workbook: rows go to disk as they come."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header_of(source, export))
    for cells in rows_of(source, query, export):
        sheet.append([xlsx_cell(cell) for cell in cells])
    book.save(out)
    return export.rows_done


def xlsx_cell(value):
    """Text without the control characters a worksheet cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


def expire(now=None):
    """Erase the files of exports older than EXPORT_KEEP_DAYS, and mark as failed those still
    unfinished after EXPORT_STALE_HOURS (their worker died); returns how many of each."""
    now = now or utcnow()
    config = current_app.config
    old = now - timedelta(days=config["EXPORT_KEEP_DAYS"])
    expired = 0
    for export in Export.select().where(
        Export.created_at < old, Export.status != ExportStatus.EXPIRED.value
    ):
        if export.storage_key:
            storage.get_storage().delete(export.storage_key)
        Export.update(status=ExportStatus.EXPIRED.value, storage_key=None).where(
            Export.id == export.id
        ).execute()
        expired += 1
    stale = (
        Export.update(
            status=ExportStatus.FAILED.value,
            error=str(_("Interrompu avant la fin ; demandez l'export à nouveau.")),
            finished_at=now,
        )
        .where(
            Export.status.in_([ExportStatus.PENDING.value, ExportStatus.RUNNING.value]),
            Export.created_at < now - timedelta(hours=config["EXPORT_STALE_HOURS"]),
        )
        .execute()
    )
    return expired, stale
