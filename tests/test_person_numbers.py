"""A person is known by their National Register number or, when the Register does not hold
them (a manager living abroad, a frontier worker), by their BIS number: the login, an
invitation and every national-number field take both, and refuse a number with a wrong check."""

import pytest
from test_company_access import gap_client, post

from access import identity
from helpers import text
from models import Membership, Person
from procedures.validators import person_number

NRN = "85063024503"
# Born 12 March 1985, month raised by 20 (sex unknown when issued), serial 001, its check.
BIS = "852312001" + f"{97 - 852312001 % 97:02d}"


def test_a_bis_number_is_a_person_number_and_a_wrong_check_is_not():
    assert person_number.is_valid(NRN) and person_number.is_valid(BIS)
    assert person_number.validate("85.23.12-001." + BIS[-2:]) == BIS
    wrong = BIS[:-2] + f"{(int(BIS[-2:]) + 1) % 100:02d}"
    assert not person_number.is_valid(wrong)
    assert not person_number.is_valid("85131200155"), "month 13: neither register"


def test_a_login_with_a_bis_number_opens_a_person(app):
    claims = {"iss": "https://fas.test", "sub": "s-bis", "egovNRN": BIS, "surname": "Müller"}
    with app.app_context():
        person = identity.person_from_claims(claims, ("fr", "de"))
    assert Person.get_by_id(person.id).national_number == BIS


@pytest.mark.parametrize(("number", "accepted"), [(BIS, True), (BIS[:-1] + "0", False)])
def test_a_manager_invites_a_person_by_bis_number(client, number, accepted):
    gap_client(client)
    data = {
        "national_number": number,
        "surname": "Müller",
        "given_name": "Jonas",
        "email": "jonas@agentur.test",
        "consult": "y",
    }
    page = post(client, "/entreprise/acces/inviter", data, page="/entreprise/acces/")
    assert (Membership.select().count() == 2) == accepted
    if not accepted:
        assert page.status_code == 400
        assert "registre national ou BIS n'est pas valable" in text(page)
