"""The portal home page."""

from flask import Blueprint, render_template

from auth import current_person
from portal.access import MEMBERSHIPS, note_memberships

bp = Blueprint(
    "home",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/portal",
)


@bp.get("/")
def index():
    person = current_person()
    memberships = []
    if person:
        memberships = MEMBERSHIPS(person.id)
        note_memberships(memberships)  # the layout names the company chosen: no second query
    return render_template("portal/home.html", memberships=memberships)
