"""Filling a dossier: choosing a procedure, the task list, one section per page, repeatable
groups (with and without JavaScript) and the "check your answers" page."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from auth import current_actor, current_person
from dossiers import DossierRefused, filling, retention
from models import Membership, ProcedureDefinition, Role
from portal import forms_builder
from portal.access import company_required, current_membership, load_dossier
from procedures import definition_of, display, engine, title_of

bp = Blueprint("wizard", __name__, url_prefix="/dossiers")


def latest_procedures():
    rows = (
        ProcedureDefinition.select()
        .where(ProcedureDefinition.published == True)  # noqa: E712
        .order_by(ProcedureDefinition.code, ProcedureDefinition.version.desc())
    )
    latest = {}
    for row in rows:
        latest.setdefault(row.code, row)
    return sorted(latest.values(), key=title_of)


@bp.get("/nouveau")
@company_required(need=Role.ENCODE)
def new():
    return render_template("wizard/new.html", procedures=latest_procedures(), form=FlaskForm())


@bp.post("/nouveau/<code>")
@company_required(need=Role.ENCODE)
def create(code):
    row = ProcedureDefinition.latest_published(code) or abort(404)
    try:
        dossier, created = filling.create(current_actor(), current_membership(), row)
    except DossierRefused as refused:
        abort(403, str(refused))
    if not created:
        flash(
            _(
                "Un dossier « %(title)s » existe déjà pour cette période : le voici.",
                title=title_of(row),
            ),
            "warning",
        )
    return redirect(url_for("dossiers.show", dossier_id=dossier.id))


def editable(dossier_id):
    dossier = load_dossier(dossier_id, need=Role.ENCODE)
    if not dossier.is_editable:
        flash(_("Ce dossier est soumis : ses réponses ne peuvent plus être modifiées."), "error")
        return dossier, redirect(url_for("dossiers.show", dossier_id=dossier.id))
    return dossier, None


def context_of(dossier):
    return filling.prefill_context(dossier, current_person(), current_membership())


def saved_sections(dossier):
    return set(dossier.answers.get(filling.SAVED_KEY) or [])


def next_section(definition, section, answers):
    keys = [s.key for s in definition.sections if engine.section_visible(s, answers)]
    index = keys.index(section.key) if section.key in keys else -1
    return keys[index + 1] if 0 <= index < len(keys) - 1 else None


def render_section(
    dossier, definition, section, context, form, fields, errors, status=200, formdata=None
):
    answers = dossier.answers
    groups = {
        f.key: forms_builder.group_rows(f, context, answers, formdata) for f in fields if f.is_group
    }
    found = [i for i in filling.issues(dossier, context) if i.section == section.key]
    reached = section.key in saved_sections(dossier)
    return render_template(
        "wizard/section.html",
        dossier=dossier,
        definition=definition,
        section=section,
        form=form,
        fields=fields,
        groups=groups,
        errors=errors,
        answers=answers,
        context=context,
        # A section's warnings wait until it has been saved once: none on a first visit.
        rule_messages=[i.message for i in found if i.field is None] if reached else [],
        need=engine.requirements(definition, answers),
        shown={
            f.key: display.answer_text(f, answers.get(f.key), context)
            for f in fields
            if not f.is_group and not forms_builder.is_input(f)
        },
        is_input=forms_builder.is_input,
        overdue=filling.overdue_since(dossier),
        deletion_date=retention.deletion_date(dossier),
    ), status


@bp.route("/<int:dossier_id>/section/<key>", methods=["GET", "POST"])
@company_required(need=Role.ENCODE)
def section(dossier_id, key):
    dossier, refused = editable(dossier_id)
    if refused:
        return refused
    definition = definition_of(dossier.definition)
    section = definition.section(key)
    if section is None or not engine.section_visible(section, dossier.answers):
        abort(404)
    context = context_of(dossier)
    formdata = request.form if request.method == "POST" else None
    form, fields = forms_builder.build(definition, section, dossier.answers, context, formdata)
    if request.method == "GET":
        return render_section(dossier, definition, section, context, form, fields, {})
    values, errors = forms_builder.read_values(
        definition, section, dossier.answers, context, form, fields, request.form
    )
    action = request.form.get("action", "save")
    values = apply_group_action(definition, action, values)
    before = [f.key for f in forms_builder.rendered_fields(definition, section, dossier.answers)]
    try:
        filling.save_section(current_actor(), dossier, section.key, values, context)
    except DossierRefused as refused:  # submitted meanwhile, from another tab
        flash(str(refused), "error")
        return redirect(url_for("dossiers.show", dossier_id=dossier.id))
    after = [f.key for f in forms_builder.rendered_fields(definition, section, dossier.answers)]
    typed_errors = errors  # what the rows hold after the action: a removed row takes its errors
    errors = {
        moved: messages
        for key, messages in errors.items()
        if (moved := forms_builder.key_after(action, key)) is not None
    }
    if errors or action != "save" or before != after:
        if errors:
            flash(
                _("Les réponses correctes sont enregistrées ; corrigez les erreurs signalées."),
                "error",
            )
        # refused values stay in their fields, with their messages; else the saved answers
        formdata = (
            forms_builder.formdata_after(action, request.form, dossier.answers)
            if typed_errors
            else None
        )
        form, fields = forms_builder.build(definition, section, dossier.answers, context, formdata)
        return render_section(
            dossier,
            definition,
            section,
            context,
            form,
            fields,
            errors,
            400 if errors else 200,
            formdata,
        )
    following = next_section(definition, section, dossier.answers)
    if following:
        return redirect(url_for(".section", dossier_id=dossier.id, key=following))
    return redirect(url_for(".check", dossier_id=dossier.id))


def apply_group_action(definition, action, values):
    """`add:<group>` appends an empty row, `remove:<group>:<n>` deletes row n."""
    verb, _sep, rest = action.partition(":")
    if verb not in ("add", "remove"):
        return values
    group_key, _sep, index = rest.partition(":")
    group = definition.fields_by_key.get(group_key)
    if group is None or not group.is_group:
        abort(400)
    rows = list(values.get(group_key) or [])
    if verb == "add" and (group.max_items is None or len(rows) < group.max_items):
        rows.append({})
    elif verb == "remove" and index.isdigit() and int(index) < len(rows):
        rows.pop(int(index))
    values[group_key] = rows
    return values


@bp.get("/<int:dossier_id>/verifier")
@company_required(need=Role.CONSULT)
def check(dossier_id):
    dossier = load_dossier(dossier_id)
    definition = definition_of(dossier.definition)
    context = context_of(dossier)
    membership = current_membership()
    counts = filling.annex_counts(dossier)
    found = filling.issues(dossier, context, counts)
    return render_template(
        "wizard/check.html",
        dossier=dossier,
        definition=definition,
        sections=display.answer_rows(definition, dossier.answers, context),
        issues=engine.reached_issues(definition, dossier.answers, saved_sections(dossier), found),
        needs=filling.annex_needs(dossier, counts),
        overdue=filling.overdue_since(dossier),
        deletion_date=retention.deletion_date(dossier),
        can_sign=membership.allows(Role.SIGN),
        signers=[m.person for m in Membership.signers(dossier.company_id)],
        managers=[m.person for m in Membership.access_managers(dossier.company_id)],
    )
