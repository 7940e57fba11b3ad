"""Fill a procedure in the browser from its definition: valid default answers per field type,
with overrides per field key; works with and without JavaScript."""

from playwright.sync_api import expect
from test_pdf_check import blank_pdf

from browser.words import tr, tr_re
from procedures import engine

DEFAULTS = {
    "text": "Texte d'essai",
    "textarea": "Réponse détaillée d'essai.",
    "integer": "1",
    "number": "10",
    "amount": "100",
    "date": "2024-01-15",
    "email": "contact@agence.test",
    "phone": "+32 81 33 31 11",
    "enterprise_number": "0314.595.348",
    "national_number": "85.06.30-245.03",
    "iban": "BE71 0961 2345 6769",
}


def fill(page, name, field, value):
    kind = field.type
    if kind in ("choice", "yesno"):
        value = {True: "true", False: "false"}.get(value, value)
        target = page.locator(f"[name='{name}'][value='{value}']")
        if target.get_attribute("type") == "radio":
            target.check()
        else:
            page.locator(f"select[name='{name}']").select_option(value)
    elif kind == "multichoice":
        for v in value:
            page.locator(f"[name='{name}'][value='{v}']").check()
    elif kind == "declaration":
        page.locator(f"[name='{name}']").check()
    elif kind == "address":
        for part, text in (
            ("street", "Rue de l'Essai"),
            ("number", "1"),
            ("postcode", "5000"),
            ("municipality", "Namur"),
        ):
            page.locator(f"[name='{name}-{part}']").fill(text)
    else:
        page.locator(f"[name='{name}']").fill(str(value))


def default_for(field, context):
    if field.type in ("choice", "multichoice"):
        first = engine.options_for(field, context)[0]["value"]
        return [first] if field.type == "multichoice" else first
    if field.type == "yesno":
        return False
    if field.type == "declaration":
        return True
    return DEFAULTS.get(field.type)


def fill_section(page, definition, section, answers, context):
    """Answer every input of the section shown on the page, then save and continue."""
    for field in section.fields:
        if (not field.kind.has_input and not field.is_group) or field.prefill:
            continue
        if field.is_group:
            rows = answers.get(field.key) or []
            for n, row in enumerate(rows):
                if page.locator(f"[name='{field.key}-{n}-{field.fields[0].key}']").count() == 0:
                    page.locator(f"button[name='action'][value='add:{field.key}']").click()
                for sub in field.fields:
                    name = f"{field.key}-{n}-{sub.key}"
                    if page.locator(f"[name='{name}']").count() == 0:
                        continue
                    if sub.key in row or sub.required:
                        fill(page, name, sub, row.get(sub.key, default_for(sub, context)))
            continue
        locator = page.locator(f"[name='{field.key}']").first
        if locator.count() == 0 or not locator.is_visible():
            continue
        if field.key in answers:
            fill(page, field.key, field, answers[field.key])
        elif field.required or field.required_if is not None or field.type == "declaration":
            value = default_for(field, context)
            if value is not None:
                fill(page, field.key, field, value)
    page.get_by_role("button", name=tr("Enregistrer et continuer")).click()
    expect(page.locator(".error-summary")).to_have_count(0)


def fill_dossier(page, base, dossier_id, definition, answers, context):
    """Every visible section in order, then every mandatory annex as a real PDF."""
    page.goto(f"{base}/dossiers/{dossier_id}")
    for section in definition.sections:
        if not engine.section_visible(section, {**context_answers(definition, context), **answers}):
            continue
        page.goto(f"{base}/dossiers/{dossier_id}/section/{section.key}")
        fill_section(page, definition, section, answers, context)
    page.goto(f"{base}/dossiers/{dossier_id}/annexes")
    full = {**context_answers(definition, context), **answers}
    for need in engine.annex_needs(definition, engine.prune(definition, full)):
        for _ in range(need.count if need.required else 0):
            page.locator(f"#file-{need.key}").set_input_files(
                files=[
                    {
                        "name": f"{need.key}.pdf",
                        "mimeType": "application/pdf",
                        "buffer": blank_pdf(1),
                    }
                ]
            )
            page.locator(f"#annexe-{need.key}").get_by_role("button", name=tr("Joindre")).click()
            joined = tr_re("« %(name)s » est joint (%(pages)s page(s)).", name=f"{need.key}.pdf")
            expect(page.get_by_text(joined)).to_be_visible()


def context_answers(definition, context):
    from procedures.prefill import initial_answers

    return initial_answers(definition, context)
