"""Guards of the portal: who is logged in, in which company, and what they may touch."""

from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

import database
from access import denials
from auth import current_actor, current_person, limiter, login_is_fresh
from dossiers import DossierNotFound, DossierRefused
from dossiers.access import member_for
from models import Company, Dossier, Membership, Role

COMPANY_KEY = "company_id"


def login_url(next_path=None):
    return url_for("login.start", next=next_path or request.full_path.rstrip("?"))


def person_required(view):
    """The view needs a logged-in company user; others are sent to log in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_person() is None:
            return redirect(login_url())
        return view(*args, **kwargs)

    return wrapped


# The membership of a person in a company, with the company: the query of every page there.
MEMBERSHIP = database.Prepared(
    lambda person_id, company_id: (
        Membership.select(Membership, Company)
        .join(Company)
        .where(Membership.person == person_id, Membership.company == company_id)
        .limit(1)
    )
)
# Every membership of a person, with its company, by company name (the home page's).
MEMBERSHIPS = database.Prepared(
    lambda person_id: (
        Membership.select(Membership, Company)
        .join(Company)
        .where(Membership.person == person_id)
        .order_by(Company.name)
    )
)


def current_membership():
    """The membership of the logged-in person in the company chosen for this session, or None."""
    if "membership" not in g:
        person, company_id = current_person(), session.get(COMPANY_KEY)
        g.membership = None
        if person is not None and company_id is not None:
            rows = MEMBERSHIP(person.id, company_id) if isinstance(company_id, int) else []
            g.membership = rows[0] if rows else None
    return g.membership


def note_memberships(memberships):
    """The person's memberships, read by the page anyway (with their companies): the one of the
    company chosen for this session among them is the current membership, without its query."""
    if "membership" not in g:
        company_id = session.get(COMPANY_KEY)
        g.membership = next((m for m in memberships if m.company_id == company_id), None)


def company_home(membership):
    """Where a member lands in the company's space: their dossiers if they hold a role, the
    access management page for an access manager without a role, else the company list."""
    if membership.roles:
        return url_for("dossiers.index")
    if membership.is_access_manager:
        return url_for("team.index")
    flash(
        _(
            "Vous n'avez encore aucun rôle dans %(name)s : demandez-en un à son gestionnaire "
            "d'accès.",
            name=membership.company.name,
        ),
        "warning",
    )
    return url_for("companies.index")


def choose_company(company_id):
    session[COMPANY_KEY] = company_id
    g.pop("membership", None)


def company_required(view=None, need=None, gate=True, manager=False):
    """The view works in the chosen company: the person must belong to it, have validated their
    professional email there (unless `gate=False`), and hold `need` or be an access manager."""

    def decorate(fn):
        @wraps(fn)
        def wrapped(*args, **kwargs):
            if current_person() is None:
                return redirect(login_url())
            membership = current_membership()
            if membership is None:
                session.pop(COMPANY_KEY, None)
                flash(_("Choisissez l'entreprise pour laquelle vous agissez."), "warning")
                return redirect(url_for("companies.index"))
            if gate and membership.notification_email is None:
                return redirect(url_for("gate.email"))
            if manager and not membership.is_access_manager:
                denied(denials.ROLE, "Company", membership.company_id)
                abort(
                    403,
                    _("Seuls les gestionnaires d'accès de l'entreprise ont accès à cette page."),
                )
            if need is not None and not membership.allows(need):
                denied(denials.ROLE, "Company", membership.company_id)
                abort(403, _("Votre rôle dans cette entreprise ne permet pas cette action."))
            return fn(*args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


def fresh_login_required(back):
    """Sensitive steps need a login of less than 15 minutes; else log in again, then `back`."""

    def decorate(fn):
        @wraps(fn)
        def wrapped(*args, **kwargs):
            if not login_is_fresh():
                flash(
                    _("Pour cette action, confirmez votre identité en vous connectant à nouveau."),
                    "warning",
                )
                return redirect(login_url(url_for(back)))
            return fn(*args, **kwargs)

        return wrapped

    return decorate


def load_dossier(dossier_id, need=Role.CONSULT):
    """The dossier if the current person holds `need` in its company, else 404 (rather than
    403, so that a user of another company learns nothing of the dossier); 403 until their
    professional address there is validated."""
    dossier = Dossier.get_or_none(Dossier.id == dossier_id)
    if dossier is None or current_person() is None:
        abort(404)
    try:
        member_for(current_actor(), dossier, need)
    except DossierNotFound:
        denied(denials.OTHER_COMPANY, "Dossier", dossier.id)
        abort(404)
    except DossierRefused as refused:
        denied(denials.NOT_VALIDATED, "Dossier", dossier.id)
        abort(403, str(refused))
    return dossier


def denied(reason, target_type=None, target_id=None):
    """Note a refused request in the audit log (the caller then answers 403 or 404)."""
    denials.record(current_actor(), reason, request.path, target_type, target_id)


# --- rate limits of what a company sends (uploads, replies) ------------------------------------


def person_key():
    """The Flask-Limiter key of the person logged in (their uploads and replies together)."""
    person = current_person()
    return f"person:{person.id if person else request.remote_addr}"


def company_key():
    """The Flask-Limiter key of the company the person acts for (all its users together)."""
    return f"company:{session.get(COMPANY_KEY) or request.remote_addr}"


def sending_limits(setting, on_breach=None):
    """The two limits of config `setting` ("<per person>|<per company>") as decorators;
    `on_breach(limit)` may draw the refusal itself (a response kept as the 429's)."""

    def decorate(view):
        for n, key in ((0, person_key), (1, company_key)):
            view = limiter.limit(
                lambda n=n: current_app.config[setting].split("|")[n],
                key_func=key,
                methods=["POST"],
                on_breach=on_breach,
            )(view)
        return view

    return decorate
