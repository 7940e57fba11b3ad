"""Who may act for a company: activating it, naming its main access manager (GAP), and the
access managers' changes to its users (invite, roles, co-managers, revocation).

Every change needs a login of less than 15 minutes; the main access manager can never be
removed, only replaced by a legal representative (who activates the company again).
"""

from dataclasses import dataclass

from flask_babel import gettext as _

import notifications
import sources
from access import AccessRefused
from languages import de_name
from models import (
    AuditEvent,
    Company,
    Event,
    EventType,
    Membership,
    Person,
    Role,
    utcnow,
    write_transaction,
)


@dataclass(frozen=True)
class NewPerson:
    """A person named by an access manager or a legal representative, by national number."""

    national_number: str
    surname: str
    given_name: str
    email: str


def roles_text(roles):
    return Role.describe(roles)


def require_fresh_login(actor):
    if not actor.fresh_login:
        raise AccessRefused(
            _("Pour cette action, confirmez votre identité en vous connectant à nouveau.")
        )


def manager_of(actor, company_id):
    """The actor's membership in the company if it makes them an access manager there."""
    membership = actor.person.membership_in(company_id) if actor.person else None
    if membership is None or not membership.is_access_manager:
        raise AccessRefused(
            _("Seuls les gestionnaires d'accès de l'entreprise ont accès à cette page.")
        )
    if membership.notification_email is None:
        raise AccessRefused(
            _("Validez d'abord votre adresse e-mail professionnelle dans cette entreprise.")
        )
    return membership


def audit(actor, membership, action, **details):
    AuditEvent.record(
        action,
        actor,
        target=membership,
        company=membership.company.enterprise_number,
        person=membership.person.national_number,
        **details,
    )


def access_event(actor, membership, change, revoked=False):
    """The company's `company.access_changed` event (for the administration's other systems):
    which member, their access after the change; no personal data but the member's id."""
    Event.record(
        EventType.ACCESS_CHANGED,
        actor,
        company=membership.company,
        change=change,
        membership_id=membership.id,
        person_id=membership.person_id,
        roles=[] if revoked else [r.name.lower() for r in Role if r & membership.roles],
        access_manager=not revoked and membership.is_access_manager,
        main_access_manager=not revoked and membership.is_main_access_manager,
    )


def person_named(new):
    person, _created = Person.get_or_create(
        national_number=new.national_number,
        defaults={
            "surname": new.surname.strip(),
            "given_name": new.given_name.strip(),
            "name_confirmed": False,  # until their first login's claims replace it
        },
    )
    return person


def invite(actor, company_id, new, roles):
    """Give `new` (a NewPerson) access to the company with `roles`; they are emailed at the
    address given. Refused when they already have access."""
    require_fresh_login(actor)
    manager_of(actor, company_id)
    with write_transaction():
        person = person_named(new)
        if person.membership_in(company_id) is not None:
            raise AccessRefused(
                _(
                    "%(name)s a déjà accès à l'entreprise : modifiez plutôt ses rôles.",
                    name=person.full_name,
                )
            )
        membership = Membership.create(
            person=person,
            company=company_id,
            roles=roles,
            invited_email=new.email.strip().lower(),
            invited_by=actor.person,
        )
        audit(actor, membership, "access.invite", roles=roles, change=roles_text(roles))
        access_event(actor, membership, "invited")
        notifications.member_invited(membership, actor.name, roles)
    return membership


def change_roles(actor, membership, roles):
    """Set the member's roles; True if they changed (then audited and emailed)."""
    require_fresh_login(actor)
    manager_of(actor, membership.company_id)
    before = membership.roles
    if before == roles:
        return False
    change = _("Vos rôles : %(roles)s.", roles=roles_text(roles))
    with write_transaction():
        membership.roles = roles
        membership.save(only=[Membership.roles])
        audit(actor, membership, "access.roles", before=before, after=roles, change=change)
        access_event(actor, membership, "roles")
        notifications.access_changed(membership, actor.name, "roles", roles=roles)
    return True


def set_co_manager(actor, membership, co_manager):
    """Make the member a co-manager of access, or no longer one (the main manager only)."""
    require_fresh_login(actor)
    if not manager_of(actor, membership.company_id).is_main_access_manager:
        raise AccessRefused(
            _("Seul le gestionnaire d'accès principal nomme ou retire les co-gestionnaires.")
        )
    if membership.is_main_access_manager:
        raise AccessRefused(
            _(
                "Le gestionnaire d'accès principal ne peut être retiré ici : seul un représentant "
                "légal peut le remplacer."
            )
        )
    change = (
        _("Vous êtes co-gestionnaire d'accès.")
        if co_manager
        else _("Vous n'êtes plus co-gestionnaire d'accès.")
    )
    with write_transaction():
        membership.is_access_manager = co_manager
        membership.save(only=[Membership.is_access_manager])
        audit(actor, membership, "access.co_manager", co_manager=co_manager, change=change)
        kind = "co_manager" if co_manager else "co_manager_ended"
        notifications.access_changed(membership, actor.name, kind)
        access_event(actor, membership, kind)
    return change


def revoke(actor, membership):
    """Take the member's access away; never the main access manager's."""
    require_fresh_login(actor)
    manager_of(actor, membership.company_id)
    if membership.is_main_access_manager:
        raise AccessRefused(
            _(
                "Le gestionnaire d'accès principal ne peut pas être retiré : l'entreprise doit "
                "toujours en avoir un. Un représentant légal peut le remplacer."
            )
        )
    change = _("Vous n'avez plus accès à l'espace de l'entreprise.")
    with write_transaction():
        audit(actor, membership, "access.revoke", change=change)
        access_event(actor, membership, "revoked", revoked=True)
        notifications.access_changed(membership, actor.name, "revoked")
        Membership.delete().where(Membership.id == membership.id).execute()


def register_record(person, enterprise_number):
    """The register's record of the company if `person` may activate it."""
    try:
        number = sources.normalize_enterprise_number(enterprise_number)
    except ValueError as exc:
        raise AccessRefused(str(exc), field="enterprise_number") from exc
    record = sources.company_register().lookup(number)
    if record is None:
        raise AccessRefused(
            _("Ce numéro n'existe pas dans la Banque-Carrefour des Entreprises."),
            field="enterprise_number",
        )
    if not record.is_active:
        raise AccessRefused(
            _(
                "Cette entreprise n'est pas active dans la BCE (situation : %(s)s).",
                s=record.legal_situation_label,
            ),
            field="enterprise_number",
        )
    if not record.is_legal_representative(person.national_number):
        raise AccessRefused(
            _(
                "Vous n'êtes pas repris comme représentant légal %(de_name)s dans la BCE : seul "
                "un représentant légal peut activer l'entreprise ou remplacer son gestionnaire "
                "d'accès principal.",
                de_name=de_name(record.name),
            ),
            field="enterprise_number",
        )
    return record


def activate_company(actor, enterprise_number, gap=None):
    """A legal representative (per the register) activates the company and names its main
    access manager: themselves, or `gap` (a NewPerson). A previous main manager steps down.
    Returns (company, the GAP's membership)."""
    require_fresh_login(actor)
    record = register_record(actor.person, enterprise_number)
    with write_transaction():
        company = Company.from_register(record)
        if company.activated_at is None:
            company.activated_at = utcnow()
            company.save()
        if gap is None:
            gap_person, email = actor.person, None
        else:
            gap_person, email = person_named(gap), gap.email.strip()
        membership = name_gap(actor, company, gap_person, email)
    return company, membership


def name_gap(actor, company, gap_person, email):
    """Make `gap_person` the main access manager; a previous one steps down."""
    previous = list(
        Membership.select().where(
            Membership.company == company,
            Membership.is_main_access_manager == True,  # noqa: E712
        )
    )
    membership, _created = Membership.get_or_create(person=gap_person, company=company)
    for old in previous:
        if old.id != membership.id:
            old.is_main_access_manager = False
            old.is_access_manager = False
            old.save()
            change = _("Vous n'êtes plus gestionnaire d'accès principal.")
            audit(actor, old, "access.gap_replaced", change=change)
            access_event(actor, old, "gap_replaced")
            notifications.access_changed(old, actor.name, "gap_replaced")
    membership.is_access_manager = True
    membership.is_main_access_manager = True
    if email and not membership.invited_email:
        membership.invited_email = email
        membership.invited_by = actor.person
    membership.save()
    change = _("Vous êtes gestionnaire d'accès principal.")
    audit(actor, membership, "access.gap_named", change=change)
    access_event(actor, membership, "gap_named")
    notifications.access_changed(membership, actor.name, "gap_named")
    return membership
