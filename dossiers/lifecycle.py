"""A dossier's life on the company's side outside filling: archiving a submitted one (only
hidden from the company's main list; staff still see it) and deleting a draft."""

from flask_babel import gettext as _

import storage
from dossiers import DossierRefused
from dossiers.access import member_for
from models import Annex, AuditEvent, Role, write_transaction


def set_archived(actor, dossier, archived):
    """File a submitted dossier away (or bring it back); a draft is deleted, not archived."""
    member_for(actor, dossier, Role.ENCODE)
    if dossier.is_editable:
        raise DossierRefused(
            _("Un dossier non soumis ne s'archive pas : supprimez-le s'il n'est plus utile.")
        )
    dossier.set_archived(archived)
    return dossier


def delete_draft(actor, dossier):
    """Delete a draft with its answers and annexes (their files once that has committed)."""
    member_for(actor, dossier, Role.ENCODE)
    if not dossier.is_editable:
        raise DossierRefused(
            _("Un dossier soumis ne peut pas être supprimé ; vous pouvez l'archiver.")
        )
    keys = [a.storage_key for a in Annex.select().where(Annex.dossier == dossier)]
    with write_transaction():
        AuditEvent.record("dossier.delete", actor, target=dossier, title=dossier.definition.title)
        dossier.delete_instance(recursive=True)
    for key in keys:
        storage.get_storage().delete(key)
