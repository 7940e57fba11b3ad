"""The event log as the administration's other systems read it: in feed order, never skipping
one (the feed `GET /api/v1/events?after=<cursor>`, the webhooks).

Each event is written with its change, in the same transaction (`models.Event.record`, called
by `Dossier.transition`, `dossiers.messages` and `access.members`), without a position. Its id
cannot be the feed's order: ids are handed out when a row is inserted, not when its
transaction commits. A transaction that took id 7 and committed after the one that took id 8
would show a reader 8 first; the reader's cursor then passes 7, and 7, committed a moment
later, would never be read. So `sequence_pending` gives positions after the commit, one writer
at a time (the `EventPosition` row locked), to the committed events still without one, in id
order: an event that commits late gets a position after every position already given, so a
reader past them still reads it. Positions are given in the order their sequencer commits,
so what any reader sees is always positions 1..n, with nothing missing before n.
"""

from peewee import fn

from models import Event, EventPosition, write_transaction

BATCH = 1000  # events positioned per transaction of the sequencer


def pending():
    """Whether a committed event waits for its position (read on the partial index)."""
    return Event.select(Event.id).where(Event.position.is_null()).exists()


def sequence_pending(batch=BATCH):
    """Give the next feed positions to the committed events without one, in id order; returns
    how many. Cheap when there is none; called by `read` and by the worker."""
    done = 0
    while pending():
        with write_transaction():
            last = EventPosition.locked().last_position
            numbered = (
                Event.select(
                    Event.id, (fn.ROW_NUMBER().over(order_by=[Event.id]) + last).alias("p")
                )
                .where(Event.position.is_null())
                .order_by(Event.id)
                .limit(batch)
                .alias("numbered")
            )
            given = (
                Event.update(position=numbered.c.p)
                .from_(numbered)
                .where(Event.id == numbered.c.id)
                .execute()
            )
            EventPosition.update(last_position=last + given).where(EventPosition.id == 1).execute()
        done += given
        if given < batch:
            break
    return done


def read(after_position=0, limit=100, procedures=None, types=None):
    """Up to `limit` events after the position `after_position`, in feed order: only those of
    the procedures listed (None or empty: every procedure and the companies' events) and of the
    types listed (None or empty: every type). The same call gives the same events in the same
    order every time."""
    sequence_pending()
    query = Event.select().where(Event.position > after_position)
    if procedures:
        query = query.where(Event.procedure_code.in_(list(procedures)))
    if types:
        query = query.where(Event.type.in_([str(t) for t in types]))
    return list(query.order_by(Event.position).limit(limit))


def payload(event):
    """The event as the feed and the webhooks give it (JSON)."""
    return {
        "id": event.id,
        "type": event.type,
        "position": event.position,
        "dossier_id": event.dossier_id,
        "sequence": event.sequence,
        "procedure": event.procedure_code,
        "actor": {"kind": event.actor_kind, "label": event.actor_label},
        "created_at": event.created_at.isoformat() + "Z",
        "data": event.data,
    }
