"""Validators of the form engine, also used by the portal's own forms."""

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum import iban
from stdnum.be import bis, nn, vat
from stdnum.exceptions import ValidationError as StdnumError
from wtforms.validators import ValidationError


class EmailAddress:
    """A syntactically valid address (python-email-validator), normalised in place.

    Development and tests accept the reserved `.test` domain, which real mail never uses.
    """

    message = _l("Cette adresse e-mail n'est pas valable (exemple : nom@entreprise.be).")

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            result = validate_email(
                field.data.strip(),
                check_deliverability=False,
                test_environment=current_app.config.get("EMAIL_ALLOW_TEST_DOMAINS", False),
            )
        except EmailNotValidError as exc:
            raise ValidationError(str(self.message)) from exc
        field.data = result.normalized.lower()


class Stdnum:
    """A number checked (and compacted in place) by a python-stdnum module."""

    def __init__(self, module, message):
        self.module, self.message = module, message

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            field.data = self.module.validate(field.data)
        except StdnumError as exc:
            raise ValidationError(str(self.message)) from exc


def enterprise_number():
    return Stdnum(
        vat,
        _l(
            "Ce numéro d'entreprise n'est pas valable : 10 chiffres, par exemple "
            "0566.988.259 (vérifiez les deux derniers chiffres)."
        ),
    )


class person_number:
    """A person's number in the National Register or, for those it does not hold (frontier
    workers, managers living abroad), the BIS register of the Crossroads Bank: the same 11
    digits and check, the month raised by 20 or 40."""

    @staticmethod
    def is_valid(number):
        return nn.is_valid(number) or bis.is_valid(number)

    @staticmethod
    def validate(number):
        try:
            return nn.validate(number)
        except StdnumError:
            return bis.validate(number)


def national_number():
    return Stdnum(
        person_number,
        _l(
            "Ce numéro de registre national ou BIS n'est pas valable : 11 chiffres, par "
            "exemple 85.07.30-033.28 (vérifiez les chiffres)."
        ),
    )


def iban_number():
    return Stdnum(iban, _l("Ce numéro IBAN n'est pas valable (exemple : BE71 0961 2345 6769)."))


class Phone:
    """A valid phone number (phonenumbers, Belgium by default), stored in E.164 form."""

    message = _l("Ce numéro de téléphone n'est pas valable (exemple : +32 81 33 31 11).")

    def __call__(self, form, field):
        if not field.data:
            return
        try:
            number = phonenumbers.parse(field.data, "BE")
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(str(self.message)) from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(str(self.message))
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
