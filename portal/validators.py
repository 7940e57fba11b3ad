"""Form validators shared by the portal's pages."""

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
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
