"""The staff side: Flask-Admin over the same Peewee models, at /admin, for staff accounts only."""

from flask import Blueprint
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from backoffice.api_tokens import ApiTokenView
from backoffice.audit_log import AuditLogView
from backoffice.columns import status_tag
from backoffice.companies import CompanyView, MembershipView, PersonView
from backoffice.definitions import DefinitionView
from backoffice.dossiers import DossierView
from backoffice.email_templates import EmailTemplateView
from backoffice.exports import ExportsView
from backoffice.groups import GroupView
from backoffice.labels import LabelView
from backoffice.login import StaffIndexView
from backoffice.outbox import OutboxView
from backoffice.preferences import PreferencesView
from backoffice.staff_accounts import StaffAccountView
from backoffice.statistics import StatisticsView
from backoffice.webhook_dead_letters import DeadLetterView
from backoffice.webhooks import WebhookView
from dossiers import exports
from models import (
    ApiToken,
    AuditEvent,
    Company,
    Dossier,
    Label,
    Membership,
    OutboxMessage,
    Person,
    ProcedureDefinition,
    StaffGroup,
    StaffUser,
    WebhookDelivery,
    WebhookSubscription,
)

bp = Blueprint(
    "backoffice",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/admin-static",
)


def init_app(app):
    app.register_blueprint(bp)
    app.add_template_global(status_tag)
    admin = Admin(
        app,
        name="Guichet — back-office",
        url="/admin",
        index_view=StaffIndexView(name=_l("Tableau de bord"), url="/admin"),
        theme=Bootstrap4Theme(base_template="backoffice/master.html"),
    )
    dossier_view = DossierView(
        Dossier, name=_l("Dossiers"), endpoint="admin_dossiers", url="dossiers"
    )
    admin.add_view(dossier_view)
    exports.register_source(app, dossier_view.export_source, dossier_view)
    admin.add_view(GroupView(StaffGroup, name=_l("Groupes"), endpoint="admin_groups", url="groups"))
    admin.add_view(
        CompanyView(Company, name=_l("Entreprises"), endpoint="admin_companies", url="companies")
    )
    admin.add_view(
        PersonView(Person, name=_l("Personnes"), endpoint="admin_persons", url="persons")
    )
    admin.add_view(
        MembershipView(
            Membership, name=_l("Accès"), endpoint="admin_memberships", url="memberships"
        )
    )
    admin.add_view(
        DefinitionView(
            ProcedureDefinition,
            name=_l("Formulaires"),
            endpoint="admin_definitions",
            url="definitions",
        )
    )
    admin.add_view(
        StaffAccountView(StaffUser, name=_l("Personnel"), endpoint="admin_staff", url="staff")
    )
    admin.add_view(
        OutboxView(OutboxMessage, name=_l("E-mails"), endpoint="admin_outbox", url="outbox")
    )
    admin.add_view(
        AuditLogView(AuditEvent, name=_l("Journal d'audit"), endpoint="admin_audit", url="audit")
    )
    admin.add_view(ExportsView(name=_l("Exports"), endpoint="admin_exports", url="exports"))
    admin.add_view(
        ApiTokenView(
            ApiToken, name=_l("Jetons d'API"), endpoint="admin_api_tokens", url="api-tokens"
        )
    )
    admin.add_view(
        WebhookView(
            WebhookSubscription, name=_l("Webhooks"), endpoint="admin_webhooks", url="webhooks"
        )
    )
    admin.add_view(
        DeadLetterView(
            WebhookDelivery,
            name=_l("Lettres mortes des webhooks"),
            endpoint="admin_webhook_dead_letters",
            url="webhooks/dead-letters",
        )
    )
    admin.add_view(
        EmailTemplateView(
            name=_l("Textes des e-mails"), endpoint="admin_email_templates", url="email-templates"
        )
    )
    admin.add_view(LabelView(Label, name=_l("Étiquettes"), endpoint="admin_labels", url="labels"))
    admin.add_view(
        StatisticsView(name=_l("Statistiques"), endpoint="admin_statistics", url="statistics")
    )
    admin.add_view(
        PreferencesView(name=_l("Mes préférences"), endpoint="admin_preferences", url="preferences")
    )
    return admin
