"""Filling a dossier: creation with pre-filled answers, saving a section, keeping the status
between En cours and Complet in step with the answers and annexes."""

from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from peewee import fn

from dossiers import DossierRefused
from dossiers.access import member_for
from models import (
    Actor,
    Annex,
    Dossier,
    DossierStatus,
    ProcedureDefinition,
    Role,
    ScanStatus,
    utcnow,
    write_transaction,
)
from procedures import definition_of, engine, prefill

SAVED_KEY = "_saved"  # bookkeeping: sections the user has saved at least once
START_ROLES = {"consult": Role.CONSULT, "encode": Role.ENCODE, "sign": Role.SIGN}


def company_of(dossier_or_company, membership):
    """The company of a dossier (or the company given). When the membership was read with
    that same company, the dossier is given it, for this and for the page that shows it: a
    query less."""
    if not isinstance(dossier_or_company, Dossier):
        return dossier_or_company
    dossier = dossier_or_company
    same = membership is not None and membership.company_id == dossier.company_id
    if same and "company" in membership.__rel__ and "company" not in dossier.__rel__:
        dossier.company = membership.company
    return dossier.company


def prefill_context(dossier_or_company, person, membership):
    company = company_of(dossier_or_company, membership)
    due = current_app.config.get("REPORT_DUE_MONTH_DAY", (3, 31))
    return prefill.context(company, person, membership, due_month_day=due)


def existing_for(definition, company, answers):
    """A dossier of this procedure that `one_per` forbids duplicating, or None."""
    if not definition.one_per:
        return None
    value = answers.get(definition.one_per)
    candidates = (
        Dossier.select()
        .join(ProcedureDefinition)
        .where(Dossier.company == company, ProcedureDefinition.code == definition.code)
    )
    return next((d for d in candidates if d.answers.get(definition.one_per) == value), None)


def create(actor, membership, row):
    """A new draft of the company of `membership` on the definition version `row`, pre-filled
    from the sources. Returns (dossier, created): an existing one when `one_per` forbids a
    second. Refused when the member's roles do not allow starting this procedure."""
    definition = definition_of(row)
    if actor.person is None or membership.person_id != actor.person.id:
        raise DossierRefused(_("Votre rôle ne permet pas d'introduire cette démarche."))
    if not membership.allows(START_ROLES[definition.start_role]):
        raise DossierRefused(_("Votre rôle ne permet pas d'introduire cette démarche."))
    if membership.notification_email is None:
        raise DossierRefused(
            _("Validez d'abord votre adresse e-mail professionnelle dans cette entreprise.")
        )
    company = membership.company
    answers = prefill.initial_answers(
        definition, prefill_context(company, actor.person, membership)
    )
    existing = existing_for(definition, company, answers)
    if existing is not None:
        return existing, False
    with write_transaction():
        dossier = Dossier.create(
            company=company, definition=row, created_by=actor.person, answers=answers
        )
    return dossier, True


def annex_counts(dossier):
    return dict(
        Annex.select(Annex.requirement, fn.COUNT(Annex.id))
        .where(Annex.dossier == dossier, Annex.scan_status != ScanStatus.INFECTED.value)
        .group_by(Annex.requirement)
        .tuples()
    )


def issues(dossier, context=None, counts=None):
    """What keeps the dossier from being complete; `counts`: its `annex_counts`, when the
    caller has read them already."""
    definition = definition_of(dossier.definition)
    counts = annex_counts(dossier) if counts is None else counts
    return engine.all_issues(definition, dossier.answers, counts, context)


def annex_needs(dossier, counts=None):
    """The annexes the dossier's answers call for, with what is attached to each."""
    definition = definition_of(dossier.definition)
    counts = annex_counts(dossier) if counts is None else counts
    return engine.annex_needs(definition, dossier.answers, counts)


def refresh_status(dossier, context=None):
    """Move the dossier between En cours and Complet to match its answers and annexes."""
    found = issues(dossier, context)
    state = dossier.state
    if not found and state == DossierStatus.DRAFT:
        dossier.transition(DossierStatus.COMPLETE, Actor.system())
    elif found and state == DossierStatus.COMPLETE:
        dossier.transition(DossierStatus.DRAFT, Actor.system())
    return found


def overdue_since(dossier, today=None):
    """The due date of a dossier that has one (the activity report's `due_date`) when it is
    past and the dossier is not submitted yet, else None."""
    raw = dossier.answers.get("due_date")
    if not raw or not dossier.is_editable:
        return None
    try:
        due = datetime.strptime(str(raw), "%d/%m/%Y").date()
    except ValueError:
        return None
    return due if due < (today or date.today()) else None


def check_editable(dossier):
    if not dossier.is_editable:
        raise DossierRefused(
            _("Ce dossier est soumis : ses réponses ne peuvent plus être modifiées.")
        )


def save_section(actor, dossier, section_key, values, context=None):
    """Merge the section's valid values into the answers, drop what is now hidden, record the
    section as saved and refresh the status — all in one transaction. Returns the issues."""
    member_for(actor, dossier, Role.ENCODE)
    check_editable(dossier)
    definition = definition_of(dossier.definition)
    with write_transaction():
        fresh = Dossier.locked(dossier.id)  # two saves at once: each merges into the other's
        check_editable(fresh)
        answers = {**fresh.answers, **values}
        answers = {k: v for k, v in answers.items() if v is not None}  # a cleared field is gone
        saved = set(answers.get(SAVED_KEY) or [])
        saved.add(section_key)
        answers[SAVED_KEY] = sorted(saved)
        answers = engine.prune(definition, answers)
        Dossier.update(answers=answers, updated_at=utcnow()).where(
            Dossier.id == dossier.id
        ).execute()
        dossier.answers = answers
        dossier.status = fresh.status
        return refresh_status(dossier, context)
