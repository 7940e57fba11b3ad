"""The base of every back-office model view: staff only, with the roles each view admits, and
dates typed in filters read as Brussels time."""

from flask import abort, redirect, request, url_for
from flask_admin.contrib.peewee import ModelView
from flask_admin.model.filters import BaseDateTimeBetweenFilter, BaseDateTimeFilter
from flask_babel import to_utc
from flask_wtf import FlaskForm

from auth import current_staff
from models import Actor, AuditEvent


def audit(action, target=None, **details):
    """Record a staff action in the append-only audit log."""
    return AuditEvent.record(
        action,
        Actor.staff_member(current_staff()),
        target=target,
        ip_address=request.remote_addr,
        **details,
    )


class StaffModelView(ModelView):
    """Every back-office model view: staff only, with the roles listed in `allowed_roles`."""

    allowed_roles = frozenset()
    form_base_class = FlaskForm
    can_create = False
    can_edit = False
    can_delete = False
    simple_list_pager = True
    page_size = 50

    def is_accessible(self):
        staff = current_staff()
        return staff is not None and staff.staff_role in self.allowed_roles

    def get_filters(self):
        """Dates typed in a filter are Brussels time; the database holds UTC."""
        filters = super().get_filters()
        for flt in filters or ():
            is_date = isinstance(flt, BaseDateTimeFilter | BaseDateTimeBetweenFilter)
            if is_date and not getattr(flt, "in_utc", False):  # filters may be shared: once
                flt.clean = brussels_to_utc(flt.clean)
                flt.in_utc = True
        return filters

    def inaccessible_callback(self, name, **kwargs):
        if current_staff() is None:
            return redirect(url_for("admin.login", next=request.full_path))
        abort(403)


def brussels_to_utc(clean):
    """Wrap a date filter's `clean` so that its datetime(s) come out in naive UTC."""

    def cleaned(value):
        result = clean(value)
        if isinstance(result, list | tuple):
            return [to_utc(v) for v in result]
        return to_utc(result)

    return cleaned
