"""Development-only pages: log in as a demo person (until #3 brings the identity provider) and
read the outbox. Registered only when the config enables them, never in production."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields import SelectChoice

import notifications
from models import Company, Membership, OutboxMessage, Person
from portal.urls import safe_next

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.before_request
def only_when_enabled():
    endpoint = request.endpoint or ""
    flag = "DEV_MAIL_PAGE" if endpoint.startswith("dev.mail") else "DEV_LOGIN"
    if not current_app.config.get(flag):
        abort(404)


class DevLoginForm(FlaskForm):
    person = SelectField(_("Personne de démonstration"), coerce=int)
    next = HiddenField()


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = DevLoginForm()
    people = Person.select().order_by(Person.surname, Person.given_name)
    form.person.choices = [
        SelectChoice(p.id, f"{p.full_name} ({p.national_number})") for p in people
    ]
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        person = Person.get_by_id(form.person.data)
        login_user(person)
        flash(
            _("Connecté en tant que %(name)s (connexion de développement).", name=person.full_name),
            "success",
        )
        return redirect(safe_next(form.next.data) or url_for("dossiers.index"))
    companies = {
        m.person_id: m.company.name for m in Membership.select(Membership, Company).join(Company)
    }
    return render_template("dev/login.html", form=form, companies=companies)


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("home.index"))


@bp.get("/mail")
def mail_index():
    messages = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(200)
    return render_template("dev/mail.html", messages=messages)


@bp.get("/mail/<int:message_id>")
def mail_show(message_id):
    message = OutboxMessage.get_or_none(OutboxMessage.id == message_id) or abort(404)
    if message.subject is None:
        message.subject, message.body_text, message.body_html = notifications.render(message)
    return render_template("dev/mail_detail.html", message=message)
