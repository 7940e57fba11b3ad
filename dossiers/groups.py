"""Groups of agents and the routing of dossiers: supervisors and administrators make the groups
and choose their members (one group is the default); a submitted dossier goes, in the
transaction of its submission, to the group of the first routing rule of its procedure that
matches (`routing:` in the YAML), else to the default group; staff move it to another group
with a reason — an agent only to a group he belongs to, a supervisor to any. Every change is
audited and kept in the dossier's staff history (GroupChange), never shown to the company.

A rule that names a group that does not exist (the definition check cannot know the groups: a
definition is checked without the database, and groups change after it is published) sends the
dossier to the default group, with a warning in the log.
"""

import logging
import re

from flask_babel import gettext as _
from peewee import IntegrityError

from dossiers import DossierRefused
from dossiers.access import require_staff
from dossiers.processing import MAX_TEXT, agents
from models import (
    ActorKind,
    AuditEvent,
    Dossier,
    GroupChange,
    StaffGroup,
    StaffGroupMember,
    StaffRole,
    StaffUser,
    fold,
    write_transaction,
)
from procedures import definition_of
from procedures.provinces import province_of_address

log = logging.getLogger(__name__)

MANAGER_ROLES = frozenset({StaffRole.SUPERVISOR, StaffRole.ADMIN})
NAME_MAX = 100
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class GroupRefused(DossierRefused):
    """A change of groups that is not allowed; `field` names the form field it is about."""


# --- the groups -----------------------------------------------------------------------------


def require_manager(actor):
    """Groups are managed by a supervisor or an administrator (or the CLI and demo: the system)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role not in MANAGER_ROLES:
        raise GroupRefused(_("Seul un superviseur ou un administrateur gère les groupes."))


def save_group(actor, group, name, code, member_ids, is_default=False):
    """Create the group (`group` None) or change it: its name, its code, its members (active
    staff who process dossiers) and whether it is the default group (the one it replaces is
    no longer), audited; GroupRefused says what to correct."""
    require_manager(actor)
    name, code = (name or "").strip(), (code or "").strip()
    if not name or len(name) > NAME_MAX:
        raise GroupRefused(
            _("Donnez au groupe un nom de 1 à %(n)s caractères.", n=NAME_MAX), field="name"
        )
    if not CODE.match(code):
        raise GroupRefused(
            _("Le code : 1 à 40 minuscules, chiffres ou tirets, par exemple « liege »."),
            field="code",
        )
    wanted = {int(i) for i in member_ids or ()}
    members = list(agents().where(StaffUser.id.in_(list(wanted)))) if wanted else []
    if len(members) != len(wanted):
        raise GroupRefused(
            _("Un membre choisi n'est pas un agent ou un superviseur actif."), field="members"
        )
    action = "group.created" if group is None else "group.updated"
    try:
        with write_transaction():
            if group is None:
                group = StaffGroup.create(name=name, code=code, is_default=bool(is_default))
            else:
                group.name, group.code, group.is_default = name, code, bool(is_default)
                group.save()
            if is_default:
                StaffGroup.update(is_default=False).where(StaffGroup.id != group.id).execute()
            StaffGroupMember.delete().where(StaffGroupMember.group == group).execute()
            if members:
                StaffGroupMember.insert_many(
                    [{"group": group.id, "staff": m.id} for m in members]
                ).execute()
            AuditEvent.record(
                action,
                actor,
                group,
                name=name,
                code=code,
                is_default=bool(is_default),
                members=sorted(m.email for m in members),
            )
    except IntegrityError:
        raise GroupRefused(_("Un groupe porte déjà ce nom ou ce code."), field="name") from None
    return group


def groups():
    return StaffGroup.select().order_by(StaffGroup.name)


def member_ids(group):
    return [m.staff_id for m in StaffGroupMember.select().where(StaffGroupMember.group == group)]


def my_group_ids(staff):
    """The ids of the groups `staff` belongs to."""
    query = StaffGroupMember.select(StaffGroupMember.group).where(StaffGroupMember.staff == staff)
    return [row.group_id for row in query]


def is_member(staff, group):
    return (
        StaffGroupMember.select()
        .where(StaffGroupMember.staff == staff, StaffGroupMember.group == group)
        .exists()
    )


def named(text):
    """The group a routing rule names: by its code, else by its name (any case and accents)."""
    found = StaffGroup.get_or_none(StaffGroup.code == text)
    if found is not None:
        return found
    wanted = fold(text)
    return next((g for g in groups() if fold(g.name) == wanted), None)


def default_group():
    return StaffGroup.select().where(StaffGroup.is_default == True).first()  # noqa: E712


# --- routing --------------------------------------------------------------------------------


def matches(route, answers, province):
    """Whether a routing rule holds for these answers and this province. A multiple choice
    matches when one of its ticked values does."""
    if route.province:
        return province == route.province
    if route.field is None:
        return True
    answer = answers.get(route.field)
    given = answer if isinstance(answer, list) else [answer]
    wanted = route.in_ if route.in_ else (route.equals,)
    return any(_same(a, w) for a in given for w in wanted)


def _same(answer, wanted):
    if isinstance(answer, bool) or isinstance(wanted, bool):
        return answer is wanted
    return answer is not None and str(answer) == str(wanted)


def chosen_route(dossier):
    """(rule, group) for a dossier: the first rule of its procedure that matches and its group
    (None when the group does not exist: the caller logs it), or (None, None)."""
    definition = definition_of(dossier.definition)
    province = province_of_address((dossier.company.register_data or {}).get("address"))
    for route in definition.routing:
        if matches(route, dossier.answers or {}, province):
            return route, named(route.group)
    return None, None


def choose(dossier):
    """(group, rule) a dossier is to be routed to: the group of the first rule that matches,
    else the default group (None when there is none; `rule` None when no rule chose it). Only
    reads: the submission calls it before its transaction."""
    rule, group = chosen_route(dossier)
    if rule is not None and group is None:
        log.warning(
            "Routing rule %r of %s names no existing group: dossier %s goes to the default group.",
            str(rule),
            dossier.definition.code,
            dossier.id,
        )
        rule = None
    group = group or default_group()
    if group is None:
        log.warning("No default group: dossier %s is routed to no group.", dossier.id)
    return group, rule


def route(dossier, actor, choice=None):
    """Send a dossier being submitted to its group (`choose`'s choice, made now when not
    given); call inside the submission's transaction. Returns the group."""
    group, rule = choice or choose(dossier)
    Dossier.update(group=group).where(Dossier.id == dossier.id).execute()
    dossier.group = group
    GroupChange.create(
        dossier=dossier,
        to_group=group,
        rule=str(rule)[:200] if rule is not None else None,
    )
    AuditEvent.record(
        "dossier.routed",
        actor,
        dossier,
        group=group.name if group else None,
        rule=str(rule) if rule is not None else None,
    )
    return group


def move(actor, dossier, group, reason):
    """Move the dossier to `group` with a reason (staff only; an agent only to a group he is
    in), audited and kept in its staff history; GroupRefused says why not."""
    require_staff(actor, dossier)
    reason = (reason or "").strip()
    if not reason:
        raise GroupRefused(_("indiquez la raison du changement de groupe."), field="reason")
    if len(reason) > MAX_TEXT:
        raise GroupRefused(_("%(max)d caractères au plus.", max=MAX_TEXT), field="reason")
    if group is None:
        raise GroupRefused(_("choisissez un groupe."), field="group")
    staff = actor.staff
    if staff.staff_role != StaffRole.SUPERVISOR and not is_member(staff, group):
        raise GroupRefused(
            _(
                "vous n'êtes pas membre du groupe « %(name)s » : seul un superviseur y envoie "
                "un dossier.",
                name=group.name,
            ),
            field="group",
        )
    with write_transaction():
        current = Dossier.locked(dossier.id)
        if current.state.is_closed:
            raise GroupRefused(_("le dossier est clôturé : il ne change plus de groupe."))
        if current.group_id == group.id:
            raise GroupRefused(
                _("le dossier est déjà dans le groupe « %(name)s ».", name=group.name),
                field="group",
            )
        Dossier.update(group=group).where(Dossier.id == dossier.id).execute()
        GroupChange.create(
            dossier=dossier,
            from_group=current.group_id,
            to_group=group,
            actor_staff=staff,
            reason=reason,
        )
        AuditEvent.record(
            "dossier.moved",
            actor,
            dossier,
            from_group=current.group.name if current.group_id else None,
            to_group=group.name,
            reason=reason,
        )
    dossier.group = group
    return dossier


def history(dossier):
    """The dossier's routings and moves, oldest first, with their groups."""
    return list(
        GroupChange.select()
        .where(GroupChange.dossier == dossier)
        .order_by(GroupChange.created_at, GroupChange.id)
    )
