"""Companies, persons and their memberships in the back-office: read-mostly lists and details
for the helpdesk, supervisors and administrators (agents read companies only), and the two
helpdesk actions on a membership's professional email. Nothing here shows dossier answers or
annexes: the helpdesk sees no dossier content."""

import re

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import BasePeeweeFilter
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from access import AccessRefused, professional_email
from auth import current_actor, current_staff
from backoffice.base import StaffModelView
from backoffice.columns import datetime_column, invited_column, yes_no_column
from models import Company, Membership, Person, StaffRole, fold

DIRECTORY_ROLES = frozenset({StaffRole.HELPDESK, StaffRole.SUPERVISOR, StaffRole.ADMIN})
NUMBER_SEPARATORS = re.compile(r"[\s./-]")


def as_typed_number(search):
    """A number typed with its usual dots, dashes or spaces ("0403.170.701",
    "85.03.12-001.23") is searched as stored (digits only); other searches are left alone."""
    if search:
        digits = NUMBER_SEPARATORS.sub("", search)
        if digits.isdigit():
            return digits
    return search


def email_state(membership):
    if membership.notification_email:
        return _(
            "validée le %(date)s",
            date=format_datetime(membership.professional_email_verified_at, "short"),
        )
    if membership.professional_email:
        return _("en attente de validation")
    return _("à saisir à la prochaine connexion")


def roles_text(membership):
    return ", ".join(str(r.label) for r in membership.role_list) or _("aucun")


def manager_text(membership):
    if membership.is_main_access_manager:
        return _("gestionnaire d'accès principal")
    if membership.is_access_manager:
        return _("co-gestionnaire")
    return ""


class EmailStateFilter(BasePeeweeFilter):
    """Memberships by the state of their professional address."""

    def apply(self, query, value):
        email, verified = Membership.professional_email, Membership.professional_email_verified_at
        if value == "verified":
            return query.where(email.is_null(False), verified.is_null(False))
        if value == "pending":
            return query.where(email.is_null(False), verified.is_null())
        return query.where(email.is_null())

    def operation(self):
        return _l("est")


class DirectoryView(StaffModelView):
    """Read-only lists whose search also finds numbers typed with their separators."""

    can_view_details = True
    search_hint = ""

    def search_placeholder(self):
        return str(self.search_hint)

    fold_search = False  # the searched text columns hold folded text (see models.fold)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        search = as_typed_number(search)
        if search and self.fold_search:
            search = fold(search)
        return super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)

    def memberships_of(self, **where):
        query = Membership.select(Membership, Person, Company).join(Person).switch(Membership)
        query = query.join(Company).switch(Membership)
        for field, value in where.items():
            query = query.where(getattr(Membership, field) == value)
        return query.order_by(Company.name, Person.surname, Person.given_name)


class CompanyView(DirectoryView):
    # Agents read companies (for the dossiers they process); their users are shown to the
    # helpdesk, supervisors and administrators only.
    allowed_roles = frozenset(StaffRole)
    details_template = "backoffice/company_details.html"
    search_hint = _l("Dénomination ou numéro d'entreprise")
    column_list = (
        "name",
        "enterprise_number",
        "legal_form_label",
        "legal_situation",
        "activated_at",
    )
    column_details_list = (
        "name",
        "enterprise_number",
        "legal_form_label",
        "legal_situation",
        "start_date",
        "activated_at",
        "created_at",
    )
    column_labels = {
        "name": _l("Dénomination"),
        "enterprise_number": _l("Numéro d'entreprise"),
        "legal_form_label": _l("Forme juridique"),
        "legal_situation": _l("Situation juridique"),
        "start_date": _l("Date de début"),
        "activated_at": _l("Activée dans le Guichet le"),
        "created_at": _l("Connue depuis le"),
    }
    column_default_sort = ("name", False)
    column_sortable_list = ("name", "enterprise_number", "activated_at")
    column_searchable_list = (Company.search_name, Company.enterprise_number)
    fold_search = True
    column_formatters = {
        "enterprise_number": lambda v, c, m, n: m.formatted_number,
        "activated_at": datetime_column,
        "created_at": datetime_column,
    }

    def render(self, template, **kwargs):
        company = kwargs.get("model")
        if template == self.details_template and company is not None:
            staff = current_staff()
            kwargs["members"] = (
                self.memberships_of(company=company.id)
                if staff.staff_role in DIRECTORY_ROLES
                else None
            )
            kwargs.update(roles_text=roles_text, manager_text=manager_text, email_state=email_state)
        return super().render(template, **kwargs)


class PersonView(DirectoryView):
    allowed_roles = DIRECTORY_ROLES
    details_template = "backoffice/person_details.html"
    search_hint = _l("Nom, prénom ou numéro de registre national")
    column_list = (
        "surname",
        "given_name",
        "name_confirmed",
        "national_number",
        "login_email",
        "language",
    )
    column_details_list = (
        "surname",
        "given_name",
        "name_confirmed",
        "national_number",
        "login_email",
        "language",
        "notifications_opt_out",
        "created_at",
    )
    column_labels = {
        "surname": _l("Nom"),
        "given_name": _l("Prénom"),
        "name_confirmed": _l("Nom confirmé par une connexion"),
        "national_number": _l("Numéro de registre national"),
        "login_email": _l("Adresse e-mail de connexion"),
        "language": _l("Langue"),
        "notifications_opt_out": _l("Refuse les e-mails de suivi"),
        "created_at": _l("Connue depuis le"),
    }
    column_default_sort = [("surname", False), ("given_name", False)]
    column_sortable_list = ("surname", "given_name", "national_number")
    column_searchable_list = (Person.search_name, Person.national_number)
    fold_search = True
    column_formatters = {
        "notifications_opt_out": yes_no_column,
        "name_confirmed": invited_column,
        "created_at": datetime_column,
    }

    def render(self, template, **kwargs):
        person = kwargs.get("model")
        if template == self.details_template and person is not None:
            kwargs["members"] = self.memberships_of(person=person.id)
            kwargs.update(roles_text=roles_text, manager_text=manager_text, email_state=email_state)
        return super().render(template, **kwargs)


class MembershipView(DirectoryView):
    allowed_roles = DIRECTORY_ROLES
    details_template = "backoffice/membership_details.html"
    search_hint = _l("Personne, entreprise, ou leur numéro")
    column_list = ("person", "company", "roles", "manager", "professional_email", "email_state")
    column_details_list = (
        "person",
        "national_number",
        "company",
        "enterprise_number",
        "roles",
        "manager",
        "professional_email",
        "email_state",
        "invited_email",
        "created_at",
    )
    column_labels = {
        "person": _l("Personne"),
        "national_number": _l("Numéro de registre national"),
        "company": _l("Entreprise"),
        "enterprise_number": _l("Numéro d'entreprise"),
        "roles": _l("Rôles"),
        "manager": _l("Gestion des accès"),
        "professional_email": _l("Adresse e-mail professionnelle"),
        "email_state": _l("État de l'adresse"),
        "invited_email": _l("Adresse de l'invitation"),
        "created_at": _l("Accès depuis le"),
    }
    column_default_sort = [(Company.name, False), (Person.surname, False)]
    column_sortable_list = (("person", Person.surname), ("company", Company.name))
    column_searchable_list = (
        Person.search_name,
        Person.national_number,
        Company.search_name,
        Company.enterprise_number,
    )
    fold_search = True
    column_filters = (
        EmailStateFilter(
            Membership.professional_email_verified_at,
            _l("Adresse professionnelle"),
            options=[
                ("verified", _l("validée")),
                ("pending", _l("en attente de validation")),
                ("missing", _l("à saisir")),
            ],
        ),
        Membership.is_access_manager,
    )
    column_formatters = {
        "person": lambda v, c, m, n: m.person.shown_name,
        "national_number": lambda v, c, m, n: m.person.national_number,
        "company": lambda v, c, m, n: m.company.name,
        "enterprise_number": lambda v, c, m, n: m.company.formatted_number,
        "roles": lambda v, c, m, n: roles_text(m),
        "manager": lambda v, c, m, n: manager_text(m),
        "email_state": lambda v, c, m, n: email_state(m),
        "created_at": datetime_column,
    }
    prejoined = frozenset({"Person", "Company"})

    def get_query(self):
        return (
            Membership.select(Membership, Person, Company)
            .join(Person)
            .switch(Membership)
            .join(Company)
            .switch(Membership)
        )

    def get_one(self, id):
        return self.get_query().where(Membership.id == id).first()

    def render(self, template, **kwargs):
        membership = kwargs.get("model")
        if template == self.details_template and membership is not None:
            kwargs["can_act"] = current_staff().staff_role in professional_email.HELPDESK_ROLES
            kwargs["pending"] = bool(
                membership.professional_email and not membership.notification_email
            )
        return super().render(template, **kwargs)

    def for_action(self, membership_id):
        """The membership a helpdesk action is about (403 for other staff roles, 404)."""
        if current_staff().staff_role not in professional_email.HELPDESK_ROLES:
            abort(403)
        return self.get_one(membership_id) or abort(404)

    @expose("/reset-email/<int:membership_id>", methods=("GET", "POST"))
    def reset_email_view(self, membership_id):
        membership = self.for_action(membership_id)
        back = url_for(".details_view", id=membership.id)
        if not (membership.professional_email or membership.professional_email_verified_at):
            flash(_("Aucune adresse professionnelle à réinitialiser."), "info")
            return redirect(back)
        if request.method == "POST":  # the token is checked app-wide
            try:
                professional_email.reset(current_actor(), membership)
            except AccessRefused as refused:
                flash(str(refused), "error")
                return redirect(back)
            flash(
                _(
                    "Adresse professionnelle de %(name)s chez %(company)s réinitialisée ; "
                    "la personne en est informée.",
                    name=membership.person.full_name,
                    company=membership.company.name,
                ),
                "success",
            )
            return redirect(back)
        return self.render(
            "backoffice/confirm.html",
            title=_(
                "Réinitialiser l'adresse e-mail professionnelle de %(name)s chez %(company)s ?",
                name=membership.person.full_name,
                company=membership.company.name,
            ),
            explanations=[
                _(
                    "L'adresse actuelle (%(email)s) est oubliée.",
                    email=membership.professional_email or "—",
                ),
                _(
                    "À sa prochaine page dans l'espace de l'entreprise, la personne devra "
                    "indiquer une adresse et la valider avant toute action sur les dossiers."
                ),
                _("La personne est informée par e-mail ; l'action est inscrite au journal."),
            ],
            action_url=request.path,
            button=_("Réinitialiser l'adresse"),
            cancel_url=back,
        )

    @expose("/resend-validation/<int:membership_id>", methods=("GET", "POST"))
    def resend_validation_view(self, membership_id):
        membership = self.for_action(membership_id)
        back = url_for(".details_view", id=membership.id)
        if not membership.professional_email or membership.notification_email:
            flash(_("Aucune adresse professionnelle n'attend de validation."), "info")
            return redirect(back)
        if request.method == "POST":  # the token is checked app-wide
            try:
                professional_email.resend_validation(current_actor(), membership)
            except AccessRefused as refused:
                flash(str(refused), "error")
            else:
                flash(
                    _(
                        "Un nouveau code et un nouveau lien de validation ont été envoyés à "
                        "%(email)s.",
                        email=membership.professional_email,
                    ),
                    "success",
                )
            return redirect(back)
        return self.render(
            "backoffice/confirm.html",
            title=_(
                "Renvoyer la validation de l'adresse %(email)s ?",
                email=membership.professional_email,
            ),
            explanations=[
                _(
                    "Un nouveau code et un nouveau lien, valables 24 heures, partent à cette "
                    "adresse ; les précédents ne fonctionnent plus."
                ),
                _("La personne est informée par e-mail ; l'action est inscrite au journal."),
            ],
            action_url=request.path,
            button=_("Renvoyer la validation"),
            cancel_url=back,
        )
