"""The base of every back-office model view: staff only, with the roles each view admits; dates
typed in filters read as Brussels time; filter options read on each page; exports named like
every download."""

from flask import abort, redirect, request, url_for
from flask_admin.contrib.peewee import ModelView
from flask_admin.model.filters import BaseDateTimeBetweenFilter, BaseDateTimeFilter
from flask_babel import to_utc
from flask_wtf import FlaskForm

from access import denials
from auth import current_actor, current_staff
from dossiers.exports import safe_cell


class StaffModelView(ModelView):
    """Every back-office model view: staff only, with the roles listed in `allowed_roles`."""

    allowed_roles = frozenset()
    form_base_class = FlaskForm
    can_create = False
    can_edit = False
    can_delete = False
    simple_list_pager = True
    page_size = 50
    list_template = "backoffice/list.html"
    details_template = "backoffice/details.html"

    def is_accessible(self):
        staff = current_staff()
        return staff is not None and staff.staff_role in self.allowed_roles

    # The tables that `get_query()` joins already (by model name), which the list must not join
    # again for a searched, filtered or sorted column.
    prejoined = frozenset()

    def get_filters(self):
        """Dates typed in a filter are Brussels time (the database holds UTC), and options given
        as a callable are read each time the list shows them, not once when the view is built
        (before the database may even exist)."""
        filters = super().get_filters()
        for flt in filters or ():
            is_date = isinstance(flt, BaseDateTimeFilter | BaseDateTimeBetweenFilter)
            if is_date and not getattr(flt, "in_utc", False):  # filters may be shared: once
                flt.clean = brussels_to_utc(flt.clean)
                flt.in_utc = True
            if callable(flt.options):
                flt.options = LiveOptions(flt.options)
        return filters

    def _handle_join(self, query, field, joins):
        # No public hook: Flask-Admin's peewee get_list() joins the table of each searched,
        # filtered or sorted column itself and cannot be told which ones get_query() joined.
        model = getattr(field, "model", None)
        if model is not None and model.__name__ in self.prejoined:
            return query
        return super()._handle_join(query, field, joins)

    def get_export_value(self, model, name):
        """Every exported cell, in every format, can be shown by a spreadsheet but never run."""
        return safe_cell(super().get_export_value(model, name))

    # One way to export: the list's Export menu asks the worker for the file, audited
    # (backoffice.exports.BackgroundExport). Flask-Admin's in-request route is not served.
    export = None

    def inaccessible_callback(self, name, **kwargs):
        if current_staff() is None:
            return redirect(url_for("admin.login", next=request.full_path))
        denials.record(current_actor(), denials.ROLE, request.path)
        abort(403)


class LiveOptions:
    """A filter's options read again each time they are listed (Flask-Admin keeps what a
    filter's `get_options()` returns when the view is built, and lists it on each page)."""

    def __init__(self, read):
        self.read = read

    def __iter__(self):
        return iter(self.read())

    def __bool__(self):
        return True


def brussels_to_utc(clean):
    """Wrap a date filter's `clean` so that its datetime(s) come out in naive UTC."""

    def cleaned(value):
        result = clean(value)
        if isinstance(result, list | tuple):
            return [to_utc(v) for v in result]
        return to_utc(result)

    return cleaned
