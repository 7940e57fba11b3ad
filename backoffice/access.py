"""Access to the back-office: staff login, and one base view that checks the staff role."""

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.peewee import ModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from auth import current_staff, end_session, start_session, verify_password
from models import STAFF_STATUSES, Actor, AuditEvent, Dossier, StaffUser, utcnow

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


def audit(action, target=None, **details):
    """Record a staff action in the append-only audit log."""
    return AuditEvent.record(
        action,
        Actor.staff_member(current_staff()),
        target=target,
        ip_address=request.remote_addr,
        **details,
    )


class StaffLoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=[DataRequired()])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired()])


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

    def inaccessible_callback(self, name, **kwargs):
        if current_staff() is None:
            return redirect(url_for("admin.login", next=request.full_path))
        abort(403)


def check_lock(staff, now):
    return staff is not None and staff.locked_until is not None and staff.locked_until > now


class StaffIndexView(AdminIndexView):
    """Dashboard, login and logout of the back-office."""

    @expose("/")
    def index(self):
        staff = current_staff()
        if staff is None:
            return redirect(url_for(".login"))
        counts = dict(
            Dossier.select(Dossier.status, fn.COUNT(Dossier.id))
            .where(Dossier.status.in_([s.value for s in STAFF_STATUSES]))
            .group_by(Dossier.status)
            .tuples()
        )
        return self.render(
            "backoffice/index.html", staff=staff, counts=counts, statuses=STAFF_STATUSES
        )

    @expose("/login/", methods=("GET", "POST"))
    def login(self):
        form = StaffLoginForm()
        if form.validate_on_submit():
            now = utcnow()
            staff = StaffUser.get_or_none(fn.LOWER(StaffUser.email) == form.email.data.lower())
            if check_lock(staff, now):
                flash(_("Trop d'essais : ce compte est bloqué quelques minutes."), "error")
            elif staff and staff.active and verify_password(staff, form.password.data):
                staff.failed_logins = 0
                staff.last_login_at = now
                staff.save(only=[StaffUser.failed_logins, StaffUser.last_login_at])
                start_session(staff, auth_method="password")
                audit("staff.login", staff)
                return redirect(url_for(".index"))
            else:
                if staff:
                    staff.failed_logins += 1
                    if staff.failed_logins >= MAX_FAILED_LOGINS:
                        staff.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                        staff.failed_logins = 0
                    staff.save(only=[StaffUser.failed_logins, StaffUser.locked_until])
                flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
        return self.render("backoffice/login.html", form=form)

    @expose("/logout/", methods=("POST",))
    def logout(self):
        if current_staff() is not None:
            audit("staff.logout", current_staff())
        end_session()
        return redirect(url_for(".login"))
