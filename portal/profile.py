"""The user's profile: language and the opt-out of dossier emails."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields import SelectChoice

from access import identity
from auth import current_person
from languages import LANGUAGE_NAMES
from portal.access import person_required

bp = Blueprint("profile", __name__, url_prefix="/profil")


class ProfileForm(FlaskForm):
    language = SelectField(_l("Langue des pages et des e-mails"))
    opt_out = BooleanField(
        _l(
            "Ne pas recevoir les e-mails de suivi des dossiers de mes "
            "entreprises (je les consulterai dans Guichet)"
        )
    )


@bp.route("/", methods=["GET", "POST"])
@person_required
def edit():
    person = current_person()
    form = ProfileForm(data={"language": person.language, "opt_out": person.notifications_opt_out})
    ready = current_app.config["LANGUAGES_READY"]
    form.language.choices = [SelectChoice(code, LANGUAGE_NAMES[code]) for code in ready]
    if form.validate_on_submit():
        identity.update_preferences(person, form.language.data, form.opt_out.data)
        flash(_l("Vos préférences sont enregistrées."), "success")
        return redirect(url_for(".edit"))
    return render_template("profile/edit.html", form=form, person=person)
