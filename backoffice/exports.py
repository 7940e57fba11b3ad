"""Background exports in the back-office: the dossier list's Export menu asks the worker for the
file (`BackgroundExport`, mixed into the list's view, which also lends the worker its query and
its cells), and `/admin/exports/` shows the staff member's own exports with their progress and,
once ready, the download."""

from flask import abort, flash, jsonify, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_wtf import FlaskForm

import security_headers
from auth import current_actor, current_staff
from backoffice.base import StaffModelView
from dossiers import DossierNotFound, DossierRefused, exports
from models import PROCESSING_ROLES


class BackgroundExport(exports.ExportSource):
    """A list view whose Export menu posts the list's search, filters and sort to the worker
    (named `export_source` for it); the file then holds the same rows and cells as the list's
    own export, in the order of their keys."""

    export_source = None

    def export_args(self):
        """The list's search, filters and sort, read off the request as the list reads them."""
        view_args = self._get_list_extra_args()
        sort = self._get_column_by_idx(view_args.sort)
        return {
            "search": view_args.search or None,
            "sort": sort[0] if sort else None,
            "desc": bool(view_args.sort_desc),
            "filters": [[index, str(name), value] for index, name, value in view_args.filters],
        }

    def export_query(self, args):
        sort = args.get("sort") if args.get("sort") in self._sortable_columns else None
        filters = [tuple(flt) for flt in args.get("filters") or ()]
        _count, query = self.get_list(
            None, sort, args.get("desc"), args.get("search"), filters, execute=False, page_size=0
        )
        return query

    def export_columns(self, args):
        return self._export_columns

    def export_value(self, row, name):
        return self.get_export_value(row, name)

    @expose("/export-background/<export_type>/", methods=("POST",))
    def background_export(self, export_type):
        if not FlaskForm().validate_on_submit():
            abort(400)
        try:
            exports.request_export(
                current_actor(), self.export_source, self.export_args(), export_type
            )
        except DossierRefused as refused:
            flash(str(refused), "error")
            return redirect(self.get_url(".index_view"))
        flash(
            _("Export demandé : il se prépare en arrière-plan ; il sera téléchargeable ici."),
            "success",
        )
        return redirect(url_for("admin_exports.index"))


class ExportsView(BaseView):
    """The staff member's own exports (nobody else's: 404), newest first."""

    allowed_roles = PROCESSING_ROLES
    # The same access rule and refusal as every back-office list.
    is_accessible = StaffModelView.is_accessible
    inaccessible_callback = StaffModelView.inaccessible_callback

    @expose("/")
    def index(self):
        rows = list(exports.own_exports(current_staff()))
        return self.render(
            "backoffice/exports.html",
            exports=rows,
            running=any(e.state.in_progress for e in rows),
            progress_text=progress_text,
        )

    @expose("/status")
    def status(self):
        """How far each of the staff member's exports is, for the page's refresh script."""
        return jsonify(
            {
                str(e.id): {
                    "status": e.status,
                    "done": e.rows_done,
                    "total": e.rows_total or 0,
                    "text": progress_text(e),
                }
                for e in exports.own_exports(current_staff())
            }
        )

    @expose("/download/<int:export_id>")
    def download(self, export_id):
        try:
            export, data, name = exports.download(current_actor(), export_id)
        except DossierNotFound:
            abort(404)
        return security_headers.download(data, name, mimetype=exports.MIMETYPES[export.format])


def progress_text(export):
    """ "1 200 / 100 000 lignes", as the page's language writes numbers."""
    if export.rows_total is None:
        return _("%(done)s lignes", done=format_decimal(export.rows_done))
    return _(
        "%(done)s / %(total)s lignes",
        done=format_decimal(export.rows_done),
        total=format_decimal(export.rows_total),
    )
