"""The portal home page."""

from flask import Blueprint, render_template

from auth import current_person
from models import Company, Membership

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
        memberships = list(
            Membership.select(Membership, Company)
            .join(Company)
            .where(Membership.person == person)
            .order_by(Company.name)
        )
    return render_template("portal/home.html", memberships=memberships)
