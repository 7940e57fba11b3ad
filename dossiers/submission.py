"""Signing and submitting a complete dossier: what is signed (canonical answers and every
annex, by SHA-256), the signature record, the frozen annexes, the reference and the status —
all in one transaction, of which two concurrent submits can only win one, which also routes the
dossier to its group of agents (dossiers/groups.py). The sealed receipt
is then made by the worker (asked for by `Dossier.transition`)."""

import hashlib
import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import storage
from dossiers import DossierRefused, groups
from dossiers.access import member_for
from dossiers.filling import issues
from models import (
    Annex,
    ConcurrentTransitionError,
    Dossier,
    DossierStatus,
    ProcedureDefinition,
    Role,
    Signature,
    db,
    utcnow,
    write_transaction,
)

# Shown to the signer in their language and kept, as they read it, in the signature.
DECLARATION = _l(
    "Je déclare sur l'honneur que les informations fournies dans ce formulaire et ses annexes "
    "sont exactes et complètes, et je le signe et le soumets au nom de l'entreprise."
)


def canonical_answers(answers):
    """The answers as signed: bookkeeping keys left out, keys sorted, compact UTF-8 JSON."""
    public = {k: v for k, v in answers.items() if not k.startswith("_")}
    return json.dumps(public, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_text(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def combined_digest(answers_sha256, annex_hashes):
    """One digest over the answers and the annexes (sorted, so order does not matter)."""
    return sha256_text("\n".join([answers_sha256, *sorted(annex_hashes)]))


def annex_records(dossier):
    """Every annex with its hash, re-checked against the stored bytes before signing; each
    must have been scanned clean."""
    records = []
    for annex in Annex.select().where(Annex.dossier == dossier).order_by(Annex.id):
        if annex.is_infected:
            raise DossierRefused(
                _(
                    "L'annexe « %(name)s » a été refusée par l'antivirus : retirez-la ou "
                    "remplacez-la par un fichier sain.",
                    name=annex.original_name,
                )
            )
        if not annex.is_clean:
            raise DossierRefused(
                _(
                    "L'annexe « %(name)s » n'a pas encore été analysée par l'antivirus ; "
                    "réessayez de signer dans quelques minutes.",
                    name=annex.original_name,
                )
            )
        try:
            storage.read_verified(annex.storage_key, annex.sha256)
        except storage.Altered as exc:
            raise DossierRefused(
                _(
                    "L'annexe « %(name)s » ne correspond plus au fichier déposé : retirez-la et "
                    "déposez-la à nouveau.",
                    name=annex.original_name,
                )
            ) from exc
        records.append(
            {
                "id": annex.id,
                "requirement": annex.requirement,
                "name": annex.original_name,
                "pages": annex.pages,
                "sha256": annex.sha256,
            }
        )
    return records


def submit(actor, dossier, session_row, context=None):
    """Sign and submit as `actor` (Signature role, login of less than 15 minutes); returns the
    Signature. Raises DossierRefused (with the reasons) or models.ConcurrentTransitionError
    when another submit came first."""
    member_for(actor, dossier, Role.SIGN)
    if not actor.fresh_login:
        raise DossierRefused(
            _("Pour signer, confirmez votre identité en vous connectant à nouveau.")
        )
    # Read again (a concurrent submit may have come first), with the procedure the reference
    # is made from.
    fresh = (
        Dossier.select(Dossier, ProcedureDefinition)
        .join(ProcedureDefinition)
        .where(Dossier.id == dossier.id)
        .get()
    )
    if not fresh.is_editable:  # submitted since the page read it: a double click's other half
        raise ConcurrentTransitionError(f"Dossier {fresh.id} is already {fresh.status}.")
    if fresh.state != DossierStatus.COMPLETE:
        found = issues(fresh, context)
        detail = " ".join(str(i.message) for i in found[:5])
        raise DossierRefused((_("Le dossier n'est pas complet.") + " " + detail).strip())
    annexes = annex_records(fresh)
    group = groups.choose(fresh)  # read before the transaction: it holds the shared rows
    answers_sha = sha256_text(canonical_answers(fresh.answers))
    with write_transaction():
        # This dossier's own rows first: the transition then takes the rows every submission
        # shares (the reference counter, the kept counts), locked until the commit, as late as
        # it can. Of two concurrent submits, the one that signs second finds the signature of
        # the first (one per dossier): it has lost, as it would at the status check.
        try:
            with db.atomic():
                signature = Signature.create(
                    dossier=fresh,
                    person=actor.person,
                    auth_method=session_row.auth_method if session_row else None,
                    auth_level=session_row.auth_level if session_row else None,
                    auth_time=session_row.auth_time if session_row else None,
                    signed_at=utcnow(),
                    declaration=str(DECLARATION),
                    answers_sha256=answers_sha,
                    annexes=annexes,
                    digest=combined_digest(answers_sha, [a["sha256"] for a in annexes]),
                )
        except IntegrityError as signed:
            raise ConcurrentTransitionError(f"Dossier {fresh.id} is signed already.") from signed
        Annex.update(frozen=True).where(Annex.dossier == fresh).execute()
        fresh.transition(DossierStatus.SUBMITTED, actor)
        groups.route(fresh, actor, group)
    dossier.status, dossier.reference = fresh.status, fresh.reference
    dossier.group = fresh.group
    return signature
