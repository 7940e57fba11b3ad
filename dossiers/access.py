"""Who may touch a dossier: a user of its company holding the role an operation needs (with a
validated professional address there), a staff member whose role processes dossiers, or a
REST API token of the scope it needs and limited to no other procedure."""

from flask_babel import gettext as _

from dossiers import DossierNotFound, DossierRefused
from models import PROCESSING_ROLES, ActorKind, ApiScope


def member_for(actor, dossier, need):
    """The actor's membership in the dossier's company if it holds `need`; DossierNotFound
    otherwise, so that a user of another company learns nothing of the dossier."""
    if actor.kind != ActorKind.APPLICANT or actor.person is None:
        raise DossierNotFound(dossier.id)
    membership = actor.person.membership_in(dossier.company_id)
    if membership is None or not membership.allows(need):
        raise DossierNotFound(dossier.id)
    if membership.notification_email is None:
        raise DossierRefused(
            _("Validez d'abord votre adresse e-mail professionnelle dans cette entreprise.")
        )
    return membership


def require_staff(actor, dossier, roles=PROCESSING_ROLES):
    """Staff of a processing role, on a dossier staff may see (never a draft)."""
    if actor.kind != ActorKind.STAFF or actor.staff is None or not dossier.state.visible_to_staff:
        raise DossierNotFound(dossier.id)
    if actor.staff.staff_role not in roles:
        raise DossierRefused(_("votre rôle ne permet pas ce changement."))


def require_processor(actor, dossier, roles=PROCESSING_ROLES):
    """Staff of `roles`, or an API token of scope `process` that sees the dossier's procedure:
    those who process dossiers (the staff's transitions, messages to the company)."""
    if actor.kind == ActorKind.API:
        require_api(actor, dossier, ApiScope.PROCESS)
    else:
        require_staff(actor, dossier, roles)


def require_api(actor, dossier, scope=ApiScope.READ):
    """An API token that sees the dossier's procedure, on a dossier staff may see (never a
    draft: DossierNotFound, as for one of another procedure), of `scope`."""
    token = actor.api_token
    if actor.kind != ActorKind.API or token is None or not dossier.state.visible_to_staff:
        raise DossierNotFound(dossier.id)
    if not token.allows_procedure(dossier.definition.code):
        raise DossierNotFound(dossier.id)
    if not token.allows_scope(scope):
        raise DossierRefused(_("ce jeton ne permet que la lecture."))
