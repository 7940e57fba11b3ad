"""Stored files that no row references: what a process killed between storing an upload and
committing its row leaves behind (a failed transaction deletes its file itself). The cleanup
removes them, and the temporary files of writes cut short, once they are older than
ORPHAN_GRACE_HOURS — an upload in progress is younger, so its file is never taken from under
it — and never a file an Annex, a Document, an Export or an expert's answer names. Run
hourly by the worker and by `flask --app run cleanup-orphans`."""

import logging
import time
from dataclasses import dataclass

from flask import current_app

import storage
from models import Annex, Document, ExpertOpinion, Export

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class Cleanup:
    orphans: int  # stored files without a row, removed
    temporaries: int  # leftovers of interrupted writes, removed
    kept_young: int  # files without a row kept because they are within the grace period


def referenced(keys):
    """Those of `keys` that an Annex, a Document, an Export or an ExpertOpinion names."""
    found = set()
    for column in (Annex.storage_key, Document.storage_key, Export.storage_key):
        rows = column.model.select(column).where(column.in_(keys)).tuples()
        found.update(key for (key,) in rows)
    answers = ExpertOpinion.select(ExpertOpinion.file_key).where(ExpertOpinion.file_key.in_(keys))
    found.update(key for (key,) in answers.tuples())
    return found


def remove_orphans(grace_hours=None, now=None):
    """Remove the stored files that no row references and that are older than the grace
    period; returns what was done."""
    grace = current_app.config["ORPHAN_GRACE_HOURS"] if grace_hours is None else grace_hours
    before = (time.time() if now is None else now) - grace * 3600
    backend = storage.get_storage()
    # Listed before the rows are read: a file stored after the listing is not looked at, and
    # one listed whose row commits meanwhile is younger than the grace period.
    listed = list(backend.listing())
    orphans = young = 0
    for start in range(0, len(listed), BATCH):
        batch = dict(listed[start : start + BATCH])
        for key in batch.keys() - referenced(list(batch)):
            if batch[key] >= before:
                young += 1
                continue
            backend.delete(key)
            orphans += 1
            log.warning("Removed stored file %s: no annex or document refers to it", key)
    result = Cleanup(orphans, backend.sweep_temporaries(before), young)
    log.info(
        "Storage cleanup: %s orphan(s) and %s temporary file(s) removed, %s recent kept",
        result.orphans,
        result.temporaries,
        result.kept_young,
    )
    return result
