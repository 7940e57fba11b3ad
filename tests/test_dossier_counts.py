"""The kept counts of dossiers per procedure version and status (models.DossierCount): after
any sequence of creations, transitions and deletions they equal a full recount, concurrent
transitions lose no increment, and `counts rebuild` puts right a count that went wrong."""

import random
import threading

import models
from dossiers import lifecycle, retention
from helpers import make_company, make_definition, make_dossier, make_member, make_staff
from models import (
    TRANSITIONS,
    Actor,
    Decision,
    Dossier,
    DossierCount,
    DossierStatus,
    ProcedureDefinition,
    StaffRole,
    utcnow,
)


def actor_for(rule, person, supervisor):
    if rule.actor.value == "applicant":
        return Actor.applicant(person)
    if rule.actor.value == "staff":
        return Actor.staff_member(supervisor)
    return Actor.system()


def test_random_changes_keep_the_counts_equal_to_a_recount(app):
    rng = random.Random(13)
    definitions = [make_definition(), make_definition(version=2), make_definition("rapport", "RAP")]
    company = make_company()
    person = make_member(company)
    supervisor = make_staff(StaffRole.SUPERVISOR)
    dossiers = []
    for step in range(160):
        choice = rng.random()
        if choice < 0.25 or not dossiers:
            dossiers.append(
                Dossier.create(
                    company=company, definition=rng.choice(definitions), created_by=person
                )
            )
            continue
        dossier = Dossier.get_by_id(rng.choice(dossiers).id)
        if choice < 0.32 and dossier.is_editable:
            if step % 2:
                lifecycle.delete_draft(Actor.applicant(person), dossier)
            else:
                dossier.delete_instance(recursive=True)
            dossiers = [d for d in dossiers if d.id != dossier.id]
            continue
        moves = [to for (source, to) in TRANSITIONS if source == dossier.state]
        to = rng.choice(moves)
        rule = TRANSITIONS[(dossier.state, to)]
        dossier.transition(
            to,
            actor_for(rule, person, supervisor),
            comment="Revu." if rule.comment_required else None,
            decision=Decision.GRANTED if to == DossierStatus.CLOSED else None,
        )
    assert DossierCount.kept() == DossierCount.recount()
    assert sum(DossierCount.kept().values()) == len(dossiers) == Dossier.select().count()
    statuses = {status for _definition, status in DossierCount.kept()}
    assert len(statuses) >= 4, statuses  # the walk went beyond the drafts


def test_retention_deletion_takes_the_draft_off_its_count(app):
    stale = make_dossier(DossierStatus.COMPLETE)
    kept = make_dossier(DossierStatus.CLOSED)
    long_ago = utcnow().replace(year=utcnow().year - 3)
    Dossier.update(updated_at=long_ago, draft_warned_at=long_ago).where(
        Dossier.id == stale.id
    ).execute()
    Dossier.update(closed_at=long_ago.replace(year=long_ago.year - 20)).where(
        Dossier.id == kept.id
    ).execute()
    done = retention.run()
    assert [d.id for d in done["deleted"]] == [stale.id]
    assert [d.id for d in done["anonymised"]] == [kept.id]  # anonymised: still counted
    assert DossierCount.kept() == DossierCount.recount() == {(kept.definition_id, "closed"): 1}


def test_concurrent_transitions_lose_no_increment(app):
    """Eight dossiers of one procedure received at once, each by its own connection."""
    company = make_company()
    make_member(company)
    dossiers = [make_dossier(DossierStatus.SUBMITTED, company=company) for _ in range(8)]
    agents = [make_staff() for _ in dossiers]
    models.db.close()
    barrier = threading.Barrier(len(dossiers))
    errors = []

    def receive(dossier, agent):
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                copy = Dossier.get_by_id(dossier.id)
                barrier.wait()
                copy.transition(DossierStatus.RECEIVED, Actor.staff_member(agent))
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                models.db.close()

    threads = [
        threading.Thread(target=receive, args=pair) for pair in zip(dossiers, agents, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    models.db.connect(reuse_if_open=True)
    assert errors == []
    definition = dossiers[0].definition_id
    assert DossierCount.kept() == {(definition, "received"): 8} == DossierCount.recount()


def test_counts_rebuild_puts_a_wrong_count_right(app, runner):
    dossier = make_dossier(DossierStatus.RECEIVED)
    make_dossier(
        DossierStatus.DRAFT, definition=ProcedureDefinition.get_by_id(dossier.definition_id)
    )
    DossierCount.update(n=DossierCount.n + 5).where(DossierCount.status == "received").execute()
    DossierCount.add(dossier.definition_id, "closed", 2)
    result = runner.invoke(args=["counts", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 dossier(s) counted; 2 count(s) corrected." in result.output
    assert DossierCount.kept() == {
        (dossier.definition_id, "received"): 1,
        (dossier.definition_id, "draft"): 1,
    }
