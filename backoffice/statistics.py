"""The statistics page of the back-office (`/admin/statistics/`), for supervisors and
administrators: per procedure, the last months' table (submitted, closed, decisions, median
and 90th percentile of the processing time) with its two charts, and the CSV of the table.
Everything is read from the kept monthly rows (dossiers/statistics.py)."""

from flask_admin import BaseView, expose

import security_headers
from backoffice.base import StaffModelView
from dossiers import statistics
from models import StaffRole, month_of, utcnow


class StatisticsView(BaseView):
    """Supervisors and administrators; agents and helpdesk are refused (403), as on every
    back-office page they may not open."""

    allowed_roles = frozenset({StaffRole.SUPERVISOR, StaffRole.ADMIN})
    is_accessible = StaffModelView.is_accessible
    inaccessible_callback = StaffModelView.inaccessible_callback

    @expose("/")
    def index(self):
        months = statistics.last_months()
        labels = statistics.month_labels(months)
        procedures = statistics.by_procedure(months)
        return self.render(
            "backoffice/statistics.html",
            procedures=[(p, statistics.charts_of(p, labels)) for p in procedures],
            labels=labels,
            months=statistics.MONTHS,
        )

    @expose("/statistics.csv")
    def csv(self):
        data = statistics.csv_bytes(statistics.by_procedure())
        name = f"statistiques-{month_of(utcnow()):%Y-%m}.csv"
        return security_headers.download(data, name, mimetype="text/csv")
