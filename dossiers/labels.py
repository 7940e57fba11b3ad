"""Labels: supervisors and administrators make the labels of each procedure (a name and a colour
of a fixed palette whose text stays readable on its background, WCAG AA); staff who process
dossiers set and remove them on a dossier of that procedure, one by one or in bulk. Labels are
the staff's own sorting: never shown to the company, nor in the API or the events."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from dossiers import DossierRefused
from dossiers.access import require_staff
from models import (
    ActorKind,
    AuditEvent,
    DossierLabel,
    Label,
    ProcedureDefinition,
    StaffRole,
    write_transaction,
)

NAME_MAX = 50
MANAGERS = frozenset({StaffRole.SUPERVISOR, StaffRole.ADMIN})
# key: (name, background, text); the CSS classes `label-<key>` of backoffice.css use the same
# colours (a test compares them), each pair at a contrast of at least 4.5:1 (WCAG AA).
COLOURS = {
    "grey": (_l("Gris"), "#e4e7eb", "#262b31"),
    "blue": (_l("Bleu"), "#d2e2f1", "#0b2d4d"),
    "green": (_l("Vert"), "#cce2d8", "#005a30"),
    "red": (_l("Rouge"), "#f6d7d2", "#8a1c0e"),
    "orange": (_l("Orange"), "#fde3c3", "#6b3a00"),
    "purple": (_l("Violet"), "#e3dbf0", "#45256e"),
    "yellow": (_l("Jaune"), "#fff2b3", "#4d4200"),
    "teal": (_l("Turquoise"), "#c8ebe8", "#0b4d48"),
}
AA_CONTRAST = 4.5


def luminance(colour):
    """The relative luminance of a #rrggbb colour (WCAG 2.x)."""

    def linear(channel):
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first, second):
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def require_manager(actor):
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role not in MANAGERS:
        raise DossierRefused(
            _("Seul un superviseur ou un administrateur gère les étiquettes."),
            DossierRefused.NOT_ALLOWED,
        )


def checked(procedure_code, name, colour):
    """The label's values, cleaned; DossierRefused names the field that is wrong."""
    invalid = DossierRefused.INVALID
    name = (name or "").strip()
    if not name:
        raise DossierRefused(_("Donnez un nom à l'étiquette."), invalid, "name")
    if len(name) > NAME_MAX:
        raise DossierRefused(_("%(max)d caractères au plus.", max=NAME_MAX), invalid, "name")
    if colour not in COLOURS:
        raise DossierRefused(_("Choisissez une couleur de la liste."), invalid, "colour")
    known = ProcedureDefinition.select().where(ProcedureDefinition.code == procedure_code)
    if not procedure_code or not known.exists():
        raise DossierRefused(_("Choisissez une procédure de la liste."), invalid, "procedure_code")
    return procedure_code, name, colour


def taken(name):
    return DossierRefused(
        _("Cette procédure a déjà une étiquette « %(name)s ».", name=name),
        DossierRefused.INVALID,
        "name",
    )


def create_label(actor, procedure_code, name, colour):
    require_manager(actor)
    procedure_code, name, colour = checked(procedure_code, name, colour)
    try:
        with write_transaction():
            label = Label.create(procedure_code=procedure_code, name=name, colour=colour)
            AuditEvent.record(
                "label.create", actor, label, procedure=procedure_code, name=name, colour=colour
            )
    except IntegrityError:
        raise taken(name) from None
    return label


def update_label(actor, label, name, colour):
    """Rename or recolour a label; its procedure stays (its dossiers are of that procedure)."""
    require_manager(actor)
    _code, name, colour = checked(label.procedure_code, name, colour)
    try:
        with write_transaction():
            Label.update(name=name, colour=colour).where(Label.id == label.id).execute()
            AuditEvent.record(
                "label.update",
                actor,
                label,
                before=[label.name, label.colour],
                name=name,
                colour=colour,
            )
    except IntegrityError:
        raise taken(name) from None
    label.name, label.colour = name, colour
    return label


def delete_label(actor, label):
    """Remove a label from its procedure and from every dossier it was set on."""
    require_manager(actor)
    with write_transaction():
        removed = DossierLabel.delete().where(DossierLabel.label == label).execute()
        Label.delete().where(Label.id == label.id).execute()
        AuditEvent.record(
            "label.delete",
            actor,
            label,
            procedure=label.procedure_code,
            name=label.name,
            dossiers=removed,
        )


def labels_for(dossier):
    """The labels of the dossier's procedure, by name."""
    return (
        Label.select().where(Label.procedure_code == dossier.definition.code).order_by(Label.name)
    )


def labels_on(dossier):
    """The labels set on the dossier, by name."""
    return (
        Label.select()
        .join(DossierLabel)
        .where(DossierLabel.dossier == dossier)
        .order_by(Label.name)
    )


def labels_of_dossiers(dossier_ids):
    """{dossier id: [(name, colour)]} of a page of the list, in one query."""
    found = {}
    if not dossier_ids:
        return found
    rows = (
        DossierLabel.select(DossierLabel.dossier, Label.name, Label.colour)
        .join(Label)
        .where(DossierLabel.dossier.in_(list(dossier_ids)))
        .order_by(Label.name)
        .tuples()
    )
    for dossier_id, name, colour in rows:
        found.setdefault(dossier_id, []).append((name, colour))
    return found


def of_procedure(label, dossier):
    if label.procedure_code != dossier.definition.code:
        raise DossierRefused(
            _(
                "L'étiquette « %(name)s » est celle d'une autre procédure que celle du dossier.",
                name=label.name,
            ),
            DossierRefused.INVALID,
            "label",
        )


def set_label(actor, dossier, label):
    """Set a label of the dossier's procedure on it; True if set now, False if it was already."""
    require_staff(actor, dossier)
    of_procedure(label, dossier)
    try:
        with write_transaction():
            DossierLabel.create(label=label, dossier=dossier, set_by=actor.staff)
            AuditEvent.record("dossier.label_set", actor, dossier, label=label.id, name=label.name)
    except IntegrityError:
        return False
    return True


def remove_label(actor, dossier, label):
    """Take a label off the dossier; True if it was on it."""
    require_staff(actor, dossier)
    of_procedure(label, dossier)
    with write_transaction():
        removed = (
            DossierLabel.delete()
            .where(DossierLabel.dossier == dossier, DossierLabel.label == label)
            .execute()
        )
        if removed:
            AuditEvent.record(
                "dossier.label_removed", actor, dossier, label=label.id, name=label.name
            )
    return bool(removed)
